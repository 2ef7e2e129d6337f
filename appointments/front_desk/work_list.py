"""Today's work at the front desk: who is coming, which bookings wait for a health review,
and whom to call. A handful of queries, however long the lists; a chain's hundreds of
arrivals a day come a page at a time (SPA_ARRIVALS_PER_PAGE), from the one now."""

import datetime
import math
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from spa_booking.join_order import in_written_order

from .. import free_times
from ..models import Appointment, PreSessionCheck
from .day_book import with_front_desk_details
from .wording import call_reason


@dataclass
class ArrivalsPage:
    number: int
    pages: int
    offset: int  # today's arrivals before this page's first
    total: int  # today's arrivals on all the pages


# The other lists show their first this many (the most urgent); "show all" shows the rest.
SHORT_LIST = 20
# What "show all" can name (the `whole` parameter of the page).
WHOLE_LISTS = ("held", "calls", "follow_ups")


@dataclass
class WorkList:
    arrivals: list[Appointment]  # today's, in order of start: one page of them
    arrivals_page: ArrivalsPage
    held: list[Appointment]  # waiting for a screening review, soonest deadline first
    # Flagged for a call (needs_follow_up): the spa cancelled or held them...
    calls: list[Appointment]
    # ...or the therapist stopped the session at the pre-session check: the client is
    # owed a follow-up about what comes next.
    follow_ups: list[Appointment]
    # How many each list holds in all (a list shows SHORT_LIST unless asked for whole).
    totals: dict[str, int]

    @property
    def arrivals_shown_to(self) -> int:
        """The number, in order of time, of the last arrival on the page shown."""
        return self.arrivals_page.offset + len(self.arrivals)


def load_work_list(
    *,
    today: datetime.date,
    now: datetime.datetime,
    page: int | None = None,
    whole: Collection[str] = (),
) -> WorkList:
    """Today's work; `page` of the arrivals (None: the page with the first appointment that
    has not ended yet, so the desk opens on who is in or coming next). The held bookings,
    calls and follow-ups show their first SHORT_LIST, those in `whole` all of theirs: a
    chain has dozens of each on a busy day."""
    day_start, day_end = free_times.local_days(today)
    todays = Appointment.objects.active().filter(starts_at__gte=day_start, starts_at__lt=day_end)
    arrivals_page = _arrivals_page(todays, page, now)
    size = settings.SPA_ARRIVALS_PER_PAGE
    held = Appointment.objects.filter(status=Appointment.Status.PENDING_REVIEW, starts_at__gt=now)
    flagged = Appointment.objects.filter(needs_follow_up=True)
    # Whether the therapist stopped the session, asked of each flagged row through the
    # check's unique index: a join would read every check the spa ever recorded.
    stopped = Exists(
        PreSessionCheck.objects.filter(
            appointment=OuterRef("pk"), outcome=PreSessionCheck.Outcome.STOPPED
        )
    )
    lists = {
        "held": held.order_by("hold_expires_at", "starts_at", "pk"),
        "calls": flagged.filter(~stopped).order_by("starts_at", "pk"),
        "follow_ups": flagged.filter(stopped).order_by("starts_at", "pk"),
    }
    # Each list joins seven tables: planned in the order written, not in every order
    # (spa_booking.join_order), which took PostgreSQL longer than running them.
    with in_written_order():
        # The page's rows found first, through the start-time index, and only they
        # joined: the details of the arrivals before the page are not needed. Their ids
        # as a list, not a subquery: a subquery would be joined in the written order too.
        on_page = todays.order_by("starts_at", "pk").values_list("pk", flat=True)[
            arrivals_page.offset : arrivals_page.offset + size
        ]
        arrivals = list(
            with_front_desk_details(Appointment.objects.filter(pk__in=list(on_page))).order_by(
                "starts_at", "pk"
            )
        )
        shown = {
            name: list(
                with_front_desk_details(rows)
                if name in whole
                else with_front_desk_details(rows)[:SHORT_LIST]
            )
            for name, rows in lists.items()
        }
    for appointment in [*shown["calls"], *shown["follow_ups"]]:
        appointment.call_reason = call_reason(appointment)
    totals = flagged.aggregate(
        calls=Count("pk", filter=~Q(stopped)), follow_ups=Count("pk", filter=Q(stopped))
    ) | {"held": held.count()}
    return WorkList(
        arrivals=arrivals,
        arrivals_page=arrivals_page,
        held=shown["held"],
        calls=shown["calls"],
        follow_ups=shown["follow_ups"],
        totals=totals,
    )


def _arrivals_page(todays, page: int | None, now: datetime.datetime) -> ArrivalsPage:
    """Which page of today's arrivals to show, counted in one query through the start-time
    index (a day's rows, never the history). A page past the last is the last."""
    counts = todays.aggregate(total=Count("pk"), over=Count("pk", filter=Q(ends_at__lte=now)))
    size = settings.SPA_ARRIVALS_PER_PAGE
    pages = max(1, math.ceil(counts["total"] / size))
    if page is None:
        # Ended ones sort first unless an earlier start outlasts a later one: close enough
        # for which page to open on, and every page is a link away.
        page = min(counts["over"], counts["total"] - 1) // size + 1 if counts["total"] else 1
    number = min(max(page, 1), pages)
    return ArrivalsPage(number, pages, (number - 1) * size, counts["total"])
