"""Loads what availability.py needs from PostgreSQL, in a fixed number of queries.

However many therapists, rooms, days or appointments there are, computing the
free times of a treatment costs the same handful of queries.
"""

import datetime
from collections import defaultdict
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

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
) -> list[Slot]:
    """The free times of a treatment between two local dates (inclusive).

    therapist_id narrows to one therapist; client_id leaves out times when the
    client is already booked; ignore_appointment_id frees the time of an
    appointment that is being moved.
    """
    now = now or timezone.now()
    window_start, window_end = local_days(first_day, last_day)
    # Appointments can spill over midnight with their buffer; look a day wider.
    loaded = _load(
        treatment_id=treatment.pk,
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
        start=window_start - datetime.timedelta(days=1),
        end=window_end + datetime.timedelta(days=1),
    )
    if not loaded.therapists:
        return []
    return availability.free_slots(
        treatment=availability.TreatmentSpec(
            duration=treatment.duration, buffer=treatment.buffer, equipment=loaded.equipment
        ),
        first_day=first_day,
        last_day=last_day,
        therapists=loaded.therapists,
        rooms=loaded.rooms,
        now=now,
        tz=spa_time_zone(),
        policy=booking_policy(by_staff=by_staff),
        client_busy=loaded.client_busy,
    )


# Everything free_slots needs, in one round trip: this runs on every booking and on
# every page of free times, and six ORM queries cost more in Python than in PostgreSQL.
# Each column is one JSON list; the overlap tests use the expression the exclusion
# constraints index, so PostgreSQL reads the busy times from those GiST indexes.
_SCHEDULE_SQL = """
WITH qualified AS (
    SELECT q.therapist_id, q.expires_on
    FROM appointments_qualification q
    JOIN appointments_therapist t ON t.id = q.therapist_id
    WHERE q.treatment_id = %(treatment)s AND t.is_active
      AND (%(therapist)s::bigint IS NULL OR q.therapist_id = %(therapist)s::bigint)
),
needed AS (
    SELECT equipment_id FROM appointments_treatment_equipment WHERE treatment_id = %(treatment)s
),
suitable_rooms AS (  -- in service, with all the equipment the treatment needs
    SELECT r.id FROM appointments_room r
    WHERE r.is_in_service AND NOT EXISTS (
        SELECT 1 FROM needed n WHERE NOT EXISTS (
            SELECT 1 FROM appointments_room_equipment re
            WHERE re.room_id = r.id AND re.equipment_id = n.equipment_id
        )
    )
),
busy AS (
    SELECT a.therapist_id, a.room_id, a.client_id, a.starts_at, a.blocked_until
    FROM appointments_appointment a
    WHERE NOT a.status = 'cancelled'
      AND tstzrange(a.starts_at, a.blocked_until, '[)') && tstzrange(%(start)s, %(end)s, '[)')
      AND (a.therapist_id IN (SELECT therapist_id FROM qualified)
           OR a.room_id IN (SELECT id FROM suitable_rooms)
           OR a.client_id = %(client)s::bigint)
      AND a.id IS DISTINCT FROM %(ignore)s::bigint
)
SELECT
    (SELECT json_agg(json_build_array(therapist_id, expires_on) ORDER BY therapist_id)
     FROM qualified),
    (SELECT json_agg(json_build_array(w.therapist_id, w.weekday, w.starts_at, w.ends_at)
                     ORDER BY w.starts_at)
     FROM appointments_workinghours w JOIN qualified q USING (therapist_id)),
    (SELECT json_agg(json_build_array(o.therapist_id, o.starts_at, o.ends_at))
     FROM appointments_timeoff o JOIN qualified q USING (therapist_id)
     WHERE o.starts_at < %(end)s AND o.ends_at > %(start)s),
    (SELECT json_agg(json_build_array(
                r.id,
                ARRAY(SELECT equipment_id FROM appointments_room_equipment re
                      WHERE re.room_id = r.id ORDER BY equipment_id)) ORDER BY r.id)
     FROM suitable_rooms r),
    (SELECT json_agg(equipment_id ORDER BY equipment_id) FROM needed),
    (SELECT json_agg(json_build_array(
                t.id,
                ARRAY(SELECT equipment_id FROM appointments_treatment_equipment te
                      WHERE te.treatment_id = t.id ORDER BY equipment_id)))
     FROM appointments_treatment t WHERE t.is_active),
    (SELECT json_agg(json_build_array(
                therapist_id, room_id, client_id, starts_at, blocked_until))
     FROM busy)
"""


class _Loaded(NamedTuple):
    therapists: list[TherapistSchedule]
    rooms: list[RoomSchedule]
    equipment: frozenset[int]  # what the treatment needs
    client_busy: list[Interval]


def _load(
    *,
    treatment_id: int,
    therapist_id: int | None,
    client_id: int | None,
    ignore_appointment_id: int | None,
    start: datetime.datetime,
    end: datetime.datetime,
) -> _Loaded:
    with connection.cursor() as cursor:
        cursor.execute(
            _SCHEDULE_SQL,
            {
                "treatment": treatment_id,
                "therapist": therapist_id,
                "client": client_id,
                "ignore": ignore_appointment_id,
                "start": start,
                "end": end,
            },
        )
        qualified, hours, time_off, rooms, equipment, needs, busy = (
            value or [] for value in cursor.fetchone()
        )
    weekly_hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for t_id, weekday, block_start, block_end in hours:
        weekly_hours[t_id][weekday].append(
            (datetime.time.fromisoformat(block_start), datetime.time.fromisoformat(block_end))
        )
    absences: dict[int, list[Interval]] = defaultdict(list)
    for t_id, *span in time_off:
        absences[t_id].append(_interval(*span))
    therapist_busy: dict[int, list[Interval]] = defaultdict(list)
    room_busy: dict[int, list[Interval]] = defaultdict(list)
    client_busy = []
    for t_id, r_id, c_id, *span in busy:
        interval = _interval(*span)
        therapist_busy[t_id].append(interval)
        room_busy[r_id].append(interval)
        if c_id == client_id:
            client_busy.append(interval)
    needed_by = {t_id: frozenset(ids) for t_id, ids in needs}
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
        rooms=[
            RoomSchedule(
                room_id=r_id,
                equipment=frozenset(room_equipment),
                busy=room_busy[r_id],
                demand=room_demand(frozenset(room_equipment), needed_by, treatment_id),
            )
            for r_id, room_equipment in rooms
        ],
        equipment=frozenset(equipment),
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


def days_with_free_slots(slots: list[Slot]) -> dict[datetime.date, int]:
    """How many distinct start times each local day offers."""
    tz = spa_time_zone()
    starts: dict[datetime.date, set] = defaultdict(set)
    for slot in slots:
        starts[slot.start.astimezone(tz).date()].add(slot.start)
    return {day: len(times) for day, times in starts.items()}


def bookable_days(now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last local dates a client can book on."""
    now = now or timezone.now()
    tz = spa_time_zone()
    policy = booking_policy()
    first = (now + policy.minimum_notice).astimezone(tz).date()
    last = (now + policy.horizon).astimezone(tz).date()
    return first, last
