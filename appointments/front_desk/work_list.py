"""Today's work at the front desk: who is coming, which bookings wait for a health review,
and whom to call. A handful of queries, however long the lists; a chain's hundreds of
arrivals a day come a page at a time (SPA_ARRIVALS_PER_PAGE), from the one now."""

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

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
    shown_to: int = 0  # the number, in order of time, of this page's last


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


def load_work_list(
    *, today: datetime.date, now: datetime.datetime, page: int | None = None
) -> WorkList:
    """Today's work; `page` of the arrivals (None: the page with the first appointment that
    has not ended yet, so the desk opens on who is in or coming next)."""
    day_start, day_end = free_times.local_days(today)
    todays = Appointment.objects.active().filter(starts_at__gte=day_start, starts_at__lt=day_end)
    arrivals_page = _arrivals_page(todays, page, now)
    size = settings.SPA_ARRIVALS_PER_PAGE
    arrivals = list(
        with_front_desk_details(todays).order_by("starts_at", "pk")[
            arrivals_page.offset : arrivals_page.offset + size
        ]
    )
    arrivals_page.shown_to = arrivals_page.offset + len(arrivals)
    held = list(
        with_front_desk_details(
            Appointment.objects.filter(status=Appointment.Status.PENDING_REVIEW, starts_at__gt=now)
        ).order_by("hold_expires_at", "starts_at", "pk")
    )
    flagged = list(
        with_front_desk_details(Appointment.objects.filter(needs_follow_up=True)).order_by(
            "starts_at", "pk"
        )
    )
    for appointment in flagged:
        appointment.call_reason = call_reason(appointment)
    follow_ups = [a for a in flagged if _session_stopped(a)]
    calls = [a for a in flagged if not _session_stopped(a)]
    return WorkList(
        arrivals=arrivals,
        arrivals_page=arrivals_page,
        held=held,
        calls=calls,
        follow_ups=follow_ups,
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


def _session_stopped(appointment: Appointment) -> bool:
    check = getattr(appointment, "pre_session_check", None)
    return check is not None and check.outcome == PreSessionCheck.Outcome.STOPPED
