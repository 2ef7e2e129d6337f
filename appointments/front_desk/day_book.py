"""The day book: one day of the spa, every working therapist a column, a page of them at
a time (SPA_DAY_BOOK_THERAPISTS).

Rows are the booking grid (SPA_SLOT_STEP_MINUTES) from the first therapist's start to
the last one's end. Each therapist's appointments span the rows of their blocked time
(buffer included); around them a row is a free time of the chosen treatment (from
free_times.free_slots, the same computation as online booking, for staff), working time
with nothing to book, time off, or not working. However many therapists and
appointments there are, it costs the same few queries.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from spa_booking.join_order import in_written_order

from .. import free_times
from ..availability import Slot
from ..forms import format_start
from ..models import Appointment, Therapist, TimeOff, Treatment, WorkingHours

# The rows shown on a day nobody works (a spa holiday), so the page is not empty.
QUIET_DAY = (datetime.time(9), datetime.time(18))


def with_front_desk_details(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """What the front desk shows of each appointment, in the same query: the client (to call
    them), treatment, therapist, room, the pre-session check's outcome, and whether it is
    the client's first visit. No screening: the front desk sees no health data."""
    earlier_visit = (
        Appointment.objects.active()
        .filter(client=OuterRef("client"), starts_at__lt=OuterRef("starts_at"))
        .exclude(pk=OuterRef("pk"))
    )
    return appointments.select_related(
        "client__user", "treatment", "therapist", "room", "pre_session_check"
    ).annotate(returning=Exists(earlier_visit))


@dataclass
class Cell:
    """One cell of a therapist's column, spanning `rowspan` rows from `start`."""

    kind: str  # "appointments", "free", "open" (working, nothing to book), "time_off", "off"
    start: datetime.datetime
    rowspan: int = 1
    appointments: list[Appointment] = field(default_factory=list)
    times: list[dict] = field(default_factory=list)  # free times: {"local", "param"}
    therapist: Therapist | None = None  # whose free times


@dataclass
class Column:
    therapist: Therapist
    hours: list[WorkingHours]
    time_off: list[TimeOff]
    free: int  # free start times of the chosen treatment


@dataclass
class Row:
    start: datetime.datetime  # local
    cells: list[Cell | None]  # None: covered by a cell above that spans it


@dataclass
class TherapistPage:
    """Some of a day's therapists, by name: the day book's columns on one page."""

    number: int
    first: Therapist | None  # None: nobody works that day
    last: Therapist | None
    offset: int  # how many therapists come before, in the order of names


@dataclass
class DayBook:
    date: datetime.date
    treatment: Treatment | None
    columns: list[Column]
    rows: list[Row]
    cancelled: list[Appointment]  # of this page's therapists
    page: TherapistPage
    pages: list[TherapistPage]
    working: int  # therapists on all the pages

    @property
    def shown_to(self) -> int:
        """The number, in the order of names, of the last therapist shown."""
        return self.page.offset + len(self.columns)


def _step() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.SPA_SLOT_STEP_MINUTES)


def _span_of_day(
    date: datetime.date, hours: list[WorkingHours], appointments: list[Appointment]
) -> tuple[datetime.datetime, datetime.datetime]:
    """From the first start to the last end of anyone's day, on the step grid, local."""
    tz = free_times.spa_time_zone()
    day_start, day_end = free_times.local_days(date)
    opens = [datetime.datetime.combine(date, block.starts_at, tzinfo=tz) for block in hours]
    closes = [datetime.datetime.combine(date, block.ends_at, tzinfo=tz) for block in hours]
    opens += [a.starts_at for a in appointments]
    closes += [min(a.blocked_until, day_end) for a in appointments]
    if not opens:
        opens = [datetime.datetime.combine(date, QUIET_DAY[0], tzinfo=tz)]
        closes = [datetime.datetime.combine(date, QUIET_DAY[1], tzinfo=tz)]
    step = _step()
    # On the grid counted from local midnight, in real time (a daylight-saving day too).
    first = day_start + (min(opens) - day_start) // step * step
    last = day_start + math.ceil((max(closes) - day_start) / step) * step
    return first.astimezone(tz), last.astimezone(tz)


def _is_working(hours: list[WorkingHours], moment: datetime.datetime) -> bool:
    wall = moment.astimezone(free_times.spa_time_zone()).time()
    return any(block.starts_at <= wall < block.ends_at for block in hours)


def _column_cells(
    therapist: Therapist,
    rows: list[datetime.datetime],
    appointments: list[Appointment],
    hours: list[WorkingHours],
    time_off: list[TimeOff],
    slots: list[Slot],
) -> list[Cell | None]:
    step = _step()
    count = len(rows)
    first = rows[0]
    cells: list[Cell | None] = [None] * count
    covered = [False] * count

    def row_of(moment: datetime.datetime) -> int:
        return (moment - first) // step

    # Appointments (buffer included) take the rows they block; appointments that share
    # a row (off the grid after a change of the step) share a cell.
    current: Cell | None = None
    current_end = -1
    for appointment in appointments:
        top = max(0, row_of(appointment.starts_at))
        bottom = min(count, max(top + 1, math.ceil((appointment.blocked_until - first) / step)))
        if top >= count:
            continue
        if current is not None and top < current_end:
            current.appointments.append(appointment)
            current_end = max(current_end, bottom)
            current.rowspan = current_end - rows.index(current.start)
        else:
            current = Cell("appointments", rows[top], appointments=[appointment])
            current.rowspan = bottom - top
            current_end = bottom
            cells[top] = current
        for index in range(top, current_end):
            covered[index] = True

    free_by_row: dict[int, list[dict]] = defaultdict(list)
    for slot in slots:
        index = row_of(slot.start)
        if 0 <= index < count:
            local = slot.start.astimezone(free_times.spa_time_zone())
            free_by_row[index].append({"local": local, "param": format_start(slot.start)})

    previous: Cell | None = None
    for index, start in enumerate(rows):
        if covered[index]:
            previous = None
            continue
        if free_by_row[index]:
            cells[index] = Cell("free", start, times=free_by_row[index], therapist=therapist)
            previous = None
            continue
        end = start + step
        if any(off.starts_at < end and off.ends_at > start for off in time_off):
            kind = "time_off"
        elif _is_working(hours, start):
            kind = "open"
        else:
            kind = "off"
        if previous is not None and previous.kind == kind:
            previous.rowspan += 1  # one cell for a stretch of the same
        else:
            previous = cells[index] = Cell(kind, start)
    return cells


def working_on(date: datetime.date) -> list[Therapist]:
    """Everyone the day book shows on `date`, by name: working that weekday, or with an
    appointment that day whatever their hours say. One query; the day's appointments are
    read through the start-time index, never the history."""
    day_start, day_end = free_times.local_days(date)
    booked = (
        Appointment.objects.active()
        .filter(starts_at__gte=day_start, starts_at__lt=day_end)
        .values("therapist_id")
    )
    return list(
        Therapist.objects.filter(
            Q(is_active=True, working_hours__weekday=date.weekday()) | Q(pk__in=booked)
        )
        .distinct()
        .order_by("display_name", "pk")
        .only("pk", "display_name")
    )


def therapist_pages(therapists: list[Therapist]) -> list[TherapistPage]:
    """`therapists` in pages of SPA_DAY_BOOK_THERAPISTS columns (at least one page)."""
    size = settings.SPA_DAY_BOOK_THERAPISTS
    chunks = [therapists[index : index + size] for index in range(0, len(therapists), size)]
    return [
        TherapistPage(number, first=chunk[0], last=chunk[-1], offset=(number - 1) * size)
        for number, chunk in enumerate(chunks, start=1)
    ] or [TherapistPage(1, first=None, last=None, offset=0)]


def load_day_book(
    *, date: datetime.date, treatment: Treatment | None, now: datetime.datetime, page: int = 1
) -> DayBook:
    """The day book of `date`, with the free times of `treatment` (None: none shown), for
    the therapists of page `page` (SPA_DAY_BOOK_THERAPISTS to a page, by name; a page
    past the last is the last). A chain's day has hundreds of therapists: a page costs
    what its columns hold, not what the whole day does."""
    day_start, day_end = free_times.local_days(date)
    everyone = working_on(date)
    pages = therapist_pages(everyone)
    this_page = pages[min(max(page, 1), len(pages)) - 1]
    therapists = everyone[this_page.offset : this_page.offset + settings.SPA_DAY_BOOK_THERAPISTS]
    ids = [therapist.pk for therapist in therapists]
    with in_written_order():  # seven tables joined: see spa_booking.join_order
        appointments = list(
            with_front_desk_details(
                Appointment.objects.filter(
                    starts_at__gte=day_start, starts_at__lt=day_end, therapist__in=ids
                )
            ).order_by("starts_at", "pk")
        )
    active = [a for a in appointments if a.status != Appointment.Status.CANCELLED]
    weekday = date.weekday()
    hours: dict[int, list[WorkingHours]] = defaultdict(list)
    for block in WorkingHours.objects.filter(therapist__in=ids, weekday=weekday).order_by(
        "starts_at"
    ):
        hours[block.therapist_id].append(block)
    time_off: dict[int, list[TimeOff]] = defaultdict(list)
    for absence in TimeOff.objects.filter(therapist__in=ids).overlapping(day_start, day_end):
        time_off[absence.therapist_id].append(absence)
    slots: dict[int, list[Slot]] = defaultdict(list)
    if treatment is not None and ids:
        for slot in free_times.free_slots(
            treatment=treatment,
            first_day=date,
            last_day=date,
            now=now,
            by_staff=True,
            therapist_ids=ids,
        ):
            slots[slot.therapist_id].append(slot)

    first, last = _span_of_day(date, [b for blocks in hours.values() for b in blocks], active)
    step = _step()
    starts = []
    moment = first
    while moment < last:
        starts.append(moment.astimezone(free_times.spa_time_zone()))
        moment += step
    by_therapist: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in active:
        by_therapist[appointment.therapist_id].append(appointment)
    columns, column_cells = [], []
    for therapist in therapists:
        tid = therapist.pk
        columns.append(
            Column(
                therapist=therapist,
                hours=hours[tid],
                time_off=time_off[tid],
                free=len({slot.start for slot in slots[tid]}),
            )
        )
        column_cells.append(
            _column_cells(
                therapist, starts, by_therapist[tid], hours[tid], time_off[tid], slots[tid]
            )
        )
    rows = [
        Row(start=start, cells=[cells[index] for cells in column_cells])
        for index, start in enumerate(starts)
    ]
    return DayBook(
        date=date,
        treatment=treatment,
        columns=columns,
        rows=rows,
        page=this_page,
        pages=pages,
        working=len(everyone),
        cancelled=[a for a in appointments if a.status == Appointment.Status.CANCELLED],
    )
