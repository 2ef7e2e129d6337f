"""Loads what availability.py needs from PostgreSQL, in a fixed number of queries.

However many therapists, rooms, days or appointments there are, computing the
free times of a treatment costs the same handful of queries, and each reads the
busy times of the span searched only, through the exclusion constraints' indexes:
never the years of history.
"""

import datetime
from collections import defaultdict
from collections.abc import Collection
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from spa_booking.prepared_statements import PreparedStatement

from . import availability
from .availability import BookingPolicy, Interval, RoomSchedule, Slot, TherapistSchedule
from .models import Treatment


def spa_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def booking_policy(*, by_staff: bool = False) -> BookingPolicy:
    return BookingPolicy(
        step=datetime.timedelta(minutes=settings.SPA_SLOT_STEP_MINUTES),
        # Staff booking at the desk or on the phone may fill a gap at short notice.
        minimum_notice=datetime.timedelta(
            hours=0 if by_staff else settings.SPA_MINIMUM_NOTICE_HOURS
        ),
        horizon=datetime.timedelta(days=settings.SPA_BOOKING_HORIZON_DAYS),
    )


def local_days(
    first_day: datetime.date, last_day: datetime.date | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    """From local midnight of first_day to local midnight after last_day (default: the same
    day), in the spa's time zone: a daylight-saving day is still one day."""
    tz = spa_time_zone()
    start = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(
        (last_day or first_day) + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    return start, end


class _Whose(NamedTuple):
    """Whose free times: a treatment's, with one therapist or any, for a client or anyone,
    as if one appointment (being moved) were not there."""

    treatment_id: int
    therapist_id: int | None = None
    client_id: int | None = None
    ignore_appointment_id: int | None = None
    therapist_ids: tuple[int, ...] | None = None  # or any of these (the day book's page)


def free_slots(
    *,
    treatment: Treatment,
    first_day: datetime.date,
    last_day: datetime.date,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    now: datetime.datetime | None = None,
    by_staff: bool = False,
    therapist_ids: Collection[int] | None = None,
) -> list[Slot]:
    """The free times of a treatment between two local dates (inclusive): every free
    therapist at every start.

    therapist_id narrows to one therapist, therapist_ids to some; client_id leaves out
    times when the client is already booked; ignore_appointment_id frees the time of an
    appointment that is being moved.
    """
    some = tuple(therapist_ids) if therapist_ids is not None else None
    whose = _Whose(treatment.pk, therapist_id, client_id, ignore_appointment_id, some)
    window = _window(treatment, first_day, last_day)
    values = _searched(treatment, whose, first_day, last_day, window, now, by_staff)
    return availability.free_slots(**values) if values else []


def slots_at(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    now: datetime.datetime | None = None,
    by_staff: bool = False,
) -> list[Slot]:
    """free_slots' slots at one start (every free therapist then), with the same
    arguments: what a booking checks. It reads only the busy times around that start,
    not its whole day's."""
    whose = _Whose(treatment.pk, therapist_id, client_id, ignore_appointment_id)
    around = (start, start + treatment.duration + treatment.buffer)
    day = _local_day(start)
    values = _searched(treatment, whose, day, day, around, now, by_staff)
    return availability.free_slots(**values, among={start}) if values else []


def free_starts(
    *,
    treatment: Treatment,
    first_day: datetime.date,
    last_day: datetime.date,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    now: datetime.datetime | None = None,
    by_staff: bool = False,
) -> list[Slot]:
    """Each free start time between two local dates once, with the first therapist free
    then (availability.free_starts): the times a day's page lists. The same arguments as
    free_slots."""
    whose = _Whose(treatment.pk, therapist_id, client_id, ignore_appointment_id)
    window = _window(treatment, first_day, last_day)
    values = _searched(treatment, whose, first_day, last_day, window, now, by_staff)
    return availability.free_starts(**values) if values else []


def _searched(
    treatment: Treatment,
    whose: _Whose,
    first_day: datetime.date,
    last_day: datetime.date,
    window: "Window",
    now: datetime.datetime | None,
    by_staff: bool,
) -> dict | None:
    """The arguments of an availability search over `window` (its busy times and time off
    read in one query), or None when no therapist can give the treatment then."""
    loaded = _load(whose, time_off=window, windows=[window])
    if not loaded.therapists:
        return None
    return _values(treatment, loaded, first_day, last_day, now or timezone.now(), by_staff)


# What availability.candidate_starts takes of a search's arguments.
_CANDIDATE_ARGUMENTS = ("treatment", "first_day", "last_day", "therapists", "now", "tz", "policy")
# How many more starts of a day without a free time each round looks at: its first start,
# then the next 4, 16, ... A day with a free time usually has one at or near its first start.
_ROUND_GROWTH = 4


def days_with_free_times(
    *,
    treatment: Treatment,
    first_day: datetime.date,
    last_day: datetime.date,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    now: datetime.datetime | None = None,
) -> set[datetime.date]:
    """The local days between two dates (inclusive) with at least one free time: what a
    calendar shows. The same days as free_slots', with the same arguments; online rules.

    It stops at each day's first free start, and reads the busy times only around the
    starts it looks at: a chain's month holds tens of thousands of appointments, of which
    a day's first start needs the hundred or so at that time. So the therapists' hours
    come first (one query), then rounds of busy times (one query each): each day's first
    start, then the next few starts of the days still without a free time, and so on.
    A day has at most 24 x 60 / step starts: with a 5-minute step, five rounds look at all
    288 (1 + 4 + 16 + 64 + 256), however long the history. Usually one does.
    """
    return calendar(
        treatment=treatment,
        first_day=first_day,
        last_day=last_day,
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
        now=now,
    )[0]


def calendar(
    *,
    treatment: Treatment,
    first_day: datetime.date,
    last_day: datetime.date,
    picked: datetime.date | None = None,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    now: datetime.datetime | None = None,
) -> tuple[set[datetime.date], list[Slot]]:
    """days_with_free_times, and free_starts of the day `picked` when it is one of them
    (none otherwise), with the same arguments: a calendar with a day's times under it.
    The therapists' hours are read once for both."""
    now = now or timezone.now()
    whose = _Whose(treatment.pk, therapist_id, client_id, ignore_appointment_id)
    hours = _load(whose, time_off=_window(treatment, first_day, last_day), windows=[])
    if not hours.therapists:
        return set(), []
    found = _free_days(treatment, whose, hours, first_day, last_day, now)
    if picked is None or picked not in found:
        return found, []
    busy = _with_busy(hours, _load_busy(whose, [_window(treatment, picked, picked)]))
    return found, availability.free_starts(**_values(treatment, busy, picked, picked, now))


def _free_days(
    treatment: Treatment,
    whose: _Whose,
    hours: "_Loaded",
    first_day: datetime.date,
    last_day: datetime.date,
    now: datetime.datetime,
) -> set[datetime.date]:
    """days_with_free_times' rounds, on the hours loaded (without busy times)."""
    values = _values(treatment, hours, first_day, last_day, now)
    pending = availability.candidate_starts(**{name: values[name] for name in _CANDIDATE_ARGUMENTS})
    blocked_length = treatment.duration + treatment.buffer
    found: set[datetime.date] = set()
    batch = 1
    while pending:
        looked_at = {day: starts[:batch] for day, starts in pending.items()}
        windows = [(starts[0], starts[-1] + blocked_length) for starts in looked_at.values()]
        loaded = _with_busy(hours, _load_busy(whose, windows))
        firsts = availability.free_starts(
            **(values | _busy_values(loaded)),
            first_of_day=True,
            among={start for starts in looked_at.values() for start in starts},
        )
        found.update(_local_day(slot.start) for slot in firsts)
        pending = {
            day: starts[batch:]
            for day, starts in pending.items()
            if day not in found and len(starts) > batch
        }
        batch *= _ROUND_GROWTH
    return found


def _local_day(start: datetime.datetime) -> datetime.date:
    return start.astimezone(spa_time_zone()).date()


def _window(treatment: Treatment, first_day: datetime.date, last_day: datetime.date) -> "Window":
    """Where the blocked time of a start between two local dates can lie: from the first
    day's midnight to the treatment and its buffer after the last day's end. Busy times
    that overlap it are all a search of those days needs (they may begin the day before)."""
    start, end = local_days(first_day, last_day)
    return start, end + treatment.duration + treatment.buffer


def _values(
    treatment: Treatment,
    loaded: "_Loaded",
    first_day: datetime.date,
    last_day: datetime.date,
    now: datetime.datetime,
    by_staff: bool = False,
) -> dict:
    """The arguments of availability's searches."""
    return {
        "treatment": availability.TreatmentSpec(
            duration=treatment.duration, buffer=treatment.buffer, equipment=loaded.equipment
        ),
        "first_day": first_day,
        "last_day": last_day,
        "now": now,
        "tz": spa_time_zone(),
        "policy": booking_policy(by_staff=by_staff),
    } | _busy_values(loaded)


def _busy_values(loaded: "_Loaded") -> dict:
    return {
        "therapists": loaded.therapists,
        "rooms": loaded.rooms,
        "client_busy": loaded.client_busy,
    }


# The appointments, therapists and rooms a search is about. The busy times are those of
# active appointments that overlap the windows (a tstzrange[] made one multirange) and
# involve a qualified therapist, a suitable room or the client. The overlap test uses the
# expression the exclusion constraints index, so PostgreSQL reads the busy times from those
# GiST indexes: the rows of the windows, never the years of history.
_CHOSEN_SQL = """
WITH qualified AS (
    SELECT q.therapist_id, q.expires_on
    FROM appointments_qualification q
    JOIN appointments_therapist t ON t.id = q.therapist_id
    WHERE q.treatment_id = %(treatment)s AND t.is_active
      AND (%(therapist)s::bigint IS NULL OR q.therapist_id = %(therapist)s::bigint)
      AND (%(therapists)s::bigint[] IS NULL OR q.therapist_id = ANY(%(therapists)s::bigint[]))
),
needed AS (
    SELECT COALESCE(array_agg(equipment_id), '{}') AS equipment
    FROM appointments_treatment_equipment WHERE treatment_id = %(treatment)s
),
-- In service, with all the equipment the treatment needs: each room's equipment in one
-- pass over the rooms' equipment (one lookup a room cost most of a booking's query).
suitable_rooms AS (
    SELECT r.id, COALESCE(e.equipment, '{}') AS equipment
    FROM appointments_room r
    LEFT JOIN (
        SELECT room_id, array_agg(equipment_id) AS equipment
        FROM appointments_room_equipment GROUP BY room_id
    ) e ON e.room_id = r.id
    WHERE r.is_in_service AND COALESCE(e.equipment, '{}') @> (SELECT equipment FROM needed)
),
busy AS (
    SELECT a.therapist_id, a.room_id, a.client_id, a.starts_at, a.blocked_until
    FROM appointments_appointment a
    WHERE NOT a.status = 'cancelled'
      AND tstzrange(a.starts_at, a.blocked_until, '[)') && (
          SELECT range_agg(tstzrange(w.starts, w.ends, '[)'))
          FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) AS w(starts, ends))
      AND (a.therapist_id IN (SELECT therapist_id FROM qualified)
           OR a.room_id IN (SELECT id FROM suitable_rooms)
           OR a.client_id = %(client)s::bigint)
      AND a.id IS DISTINCT FROM %(ignore)s::bigint
)
"""

# Each blocked span once, with the therapists and rooms it blocks and whether it is the
# client's: appointments keep to the grid, so a window's hundreds share a few dozen spans.
# Only the therapists and rooms the search is about: a room's appointments are busy rows
# for their room, and naming their other therapists too made one therapist's calendar
# sort thousands of busy times into lists nobody reads.
_BUSY_COLUMN = """
    (SELECT json_agg(json_build_array(
                b.starts_at, b.blocked_until, b.therapists, b.rooms, b.clients))
     FROM (SELECT starts_at, blocked_until,
                  COALESCE(array_agg(therapist_id) FILTER (
                      WHERE therapist_id IN (SELECT therapist_id FROM qualified)), '{}')
                      AS therapists,
                  COALESCE(array_agg(room_id) FILTER (
                      WHERE room_id IN (SELECT id FROM suitable_rooms)), '{}') AS rooms,
                  bool_or(client_id = %(client)s::bigint) AS clients
           FROM busy GROUP BY starts_at, blocked_until) b)
"""

# Everything a search needs, in one round trip: this runs on every booking and on every
# page of free times, and six ORM queries cost more in Python than in PostgreSQL. Each
# column is one JSON list.
_SCHEDULE_SQL = f"""{_CHOSEN_SQL},
-- The time off touching the window, by timeoff_span_idx (the expression of
-- TimeOffQuerySet.overlapping), planned on its own: joined to the qualified therapists
-- first, the plan made once for any window read each one's every holiday of the years.
away AS MATERIALIZED (
    SELECT therapist_id, starts_at, ends_at FROM appointments_timeoff
    WHERE tstzrange(starts_at, ends_at) && tstzrange(%(time_off_start)s, %(time_off_end)s)
)
SELECT
    (SELECT json_agg(json_build_array(therapist_id, expires_on) ORDER BY therapist_id)
     FROM qualified),
    -- Each block of hours once, with everyone who works it: hundreds of therapists
    -- share a handful of shifts.
    (SELECT json_agg(json_build_array(h.weekday, h.starts_at, h.ends_at, h.therapists)
                     ORDER BY h.starts_at)
     FROM (SELECT w.weekday, w.starts_at, w.ends_at, array_agg(w.therapist_id) AS therapists
           FROM appointments_workinghours w JOIN qualified q USING (therapist_id)
           GROUP BY w.weekday, w.starts_at, w.ends_at) h),
    (SELECT json_agg(json_build_array(o.therapist_id, o.starts_at, o.ends_at))
     FROM away o JOIN qualified q USING (therapist_id)),
    (SELECT json_agg(json_build_array(r.id, r.equipment) ORDER BY r.id) FROM suitable_rooms r),
    (SELECT to_json(equipment) FROM needed),
    (SELECT json_agg(json_build_array(
                t.id,
                ARRAY(SELECT equipment_id FROM appointments_treatment_equipment te
                      WHERE te.treatment_id = t.id ORDER BY equipment_id)))
     FROM appointments_treatment t WHERE t.is_active),
    {_BUSY_COLUMN}
"""

_BUSY_SQL = f"{_CHOSEN_SQL} SELECT {_BUSY_COLUMN}"

# Planning the schedule took PostgreSQL as long as running it: planned once per connection.
_SCHEDULE = PreparedStatement("free_times_schedule", _SCHEDULE_SQL)
_BUSY = PreparedStatement("free_times_busy", _BUSY_SQL)

Window = tuple[datetime.datetime, datetime.datetime]


class _Loaded(NamedTuple):
    therapists: list[TherapistSchedule]
    rooms: list[RoomSchedule]
    equipment: frozenset[int]  # what the treatment needs
    client_busy: list[Interval]


def _parameters(whose: _Whose, windows: list[Window]) -> dict:
    return {
        "treatment": whose.treatment_id,
        "therapist": whose.therapist_id,
        "therapists": list(whose.therapist_ids) if whose.therapist_ids is not None else None,
        "client": whose.client_id,
        "ignore": whose.ignore_appointment_id,
        "starts": [start for start, _ in windows],
        "ends": [end for _, end in windows],
    }


def _load(whose: _Whose, *, time_off: Window, windows: list[Window]) -> _Loaded:
    """The qualified therapists' hours and time off (overlapping `time_off`), the suitable
    rooms, and the busy times in `windows` (none for an empty list)."""
    parameters = _parameters(whose, windows)
    parameters["time_off_start"], parameters["time_off_end"] = time_off
    with connection.cursor() as cursor:
        _SCHEDULE.execute(cursor, parameters)
        qualified, hours, absent, rooms, equipment, needs, busy = (
            value or [] for value in cursor.fetchone()
        )
    weekly_hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for weekday, block_start, block_end, working in hours:
        block = (datetime.time.fromisoformat(block_start), datetime.time.fromisoformat(block_end))
        for t_id in working:
            weekly_hours[t_id][weekday].append(block)
    absences: dict[int, list[Interval]] = defaultdict(list)
    for t_id, *span in absent:
        absences[t_id].append(_interval(*span))
    needed_by = {t_id: frozenset(ids) for t_id, ids in needs}
    therapist_busy, room_busy, client_busy = _busy_times(busy)
    # A chain's rooms share a few sets of equipment: each set's demand is worked out once.
    demand: dict[frozenset[int], int] = {}
    room_schedules = []
    for r_id, ids in rooms:
        has = frozenset(ids)
        if has not in demand:
            demand[has] = room_demand(has, needed_by, whose.treatment_id)
        room_schedules.append(
            RoomSchedule(room_id=r_id, equipment=has, busy=room_busy[r_id], demand=demand[has])
        )
    return _Loaded(
        therapists=[
            TherapistSchedule(
                therapist_id=t_id,
                weekly_hours=weekly_hours[t_id],
                time_off=absences[t_id],
                busy=therapist_busy[t_id],
                qualified=True,
                qualified_until=datetime.date.fromisoformat(expires_on) if expires_on else None,
            )
            for t_id, expires_on in qualified
        ],
        rooms=room_schedules,
        equipment=frozenset(equipment),
        client_busy=client_busy,
    )


def _load_busy(whose: _Whose, windows: list[Window]) -> list:
    """The busy rows in `windows`, for _with_busy."""
    with connection.cursor() as cursor:
        _BUSY.execute(cursor, _parameters(whose, windows))
        return cursor.fetchone()[0] or []


def _busy_times(
    busy: list,
) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]], list[Interval]]:
    """The busy spans as the busy times of each therapist, each room, and the client."""
    therapist_busy: dict[int, list[Interval]] = defaultdict(list)
    room_busy: dict[int, list[Interval]] = defaultdict(list)
    client_busy = []
    for start, end, therapists, rooms, clients in busy:
        interval = _interval(start, end)
        for t_id in therapists:
            therapist_busy[t_id].append(interval)
        for r_id in rooms:
            room_busy[r_id].append(interval)
        if clients:
            client_busy.append(interval)
    return therapist_busy, room_busy, client_busy


def _with_busy(hours: _Loaded, busy: list) -> _Loaded:
    """A schedule loaded without busy times (windows=[]), with these busy rows."""
    therapist_busy, room_busy, client_busy = _busy_times(busy)
    return hours._replace(
        # Only those with busy times change; a few hundred copies would cost milliseconds.
        therapists=[
            therapist.with_busy(therapist_busy[therapist.therapist_id])
            if therapist.therapist_id in therapist_busy
            else therapist
            for therapist in hours.therapists
        ],
        rooms=[
            room.with_busy(room_busy[room.room_id]) if room.room_id in room_busy else room
            for room in hours.rooms
        ],
        client_busy=client_busy,
    )


def _interval(start: str, end: str) -> Interval:
    return Interval(datetime.datetime.fromisoformat(start), datetime.datetime.fromisoformat(end))


def room_demand(room_equipment: frozenset[int], needs: dict, treatment_id: int) -> int:
    """How many other bookable treatments need equipment only rooms like this one have."""
    return sum(
        1
        for other, needed in needs.items()
        if other != treatment_id and needed and needed <= room_equipment
    )


def bookable_days(now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last local dates a client can book on."""
    now = now or timezone.now()
    tz = spa_time_zone()
    policy = booking_policy()
    first = (now + policy.minimum_notice).astimezone(tz).date()
    last = (now + policy.horizon).astimezone(tz).date()
    return first, last
