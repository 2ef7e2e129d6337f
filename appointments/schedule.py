"""Loads what availability.py needs from PostgreSQL, in a fixed number of queries.

However many therapists, rooms, days or appointments there are, computing the
free times of a treatment costs the same handful of queries.
"""

import datetime
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Q
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
    data = _load(
        treatment_id=treatment.pk,
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
        start=window_start - datetime.timedelta(days=1),
        end=window_end + datetime.timedelta(days=1),
    )
    if not data["qualified"]:
        return []
    needs = data["needs"]
    therapists = []
    for t_id, expires_on in data["qualified"]:
        hours: dict[int, list] = defaultdict(list)
        for weekday, block_start, block_end in data["hours"].get(t_id, ()):
            hours[weekday].append((_time(block_start), _time(block_end)))
        therapists.append(
            TherapistSchedule(
                therapist_id=t_id,
                weekly_hours=hours,
                time_off=_intervals(data["time_off"].get(t_id, ())),
                busy=_intervals(data["therapist_busy"].get(t_id, ())),
                qualified=True,
                qualified_until=_date(expires_on),
            )
        )
    rooms = [
        RoomSchedule(
            room_id=r_id,
            equipment=frozenset(equipment),
            busy=_intervals(data["room_busy"].get(r_id, ())),
            demand=room_demand(frozenset(equipment), needs, treatment.pk),
        )
        for r_id, equipment in data["rooms"]
    ]
    return availability.free_slots(
        treatment=availability.TreatmentSpec(
            duration=treatment.duration,
            buffer=treatment.buffer,
            equipment=frozenset(data["equipment"]),
        ),
        first_day=first_day,
        last_day=last_day,
        therapists=therapists,
        rooms=rooms,
        now=now,
        tz=spa_time_zone(),
        policy=booking_policy(by_staff=by_staff),
        client_busy=_intervals(data["client_busy"]),
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


def _load(
    *,
    treatment_id: int,
    therapist_id: int | None,
    client_id: int | None,
    ignore_appointment_id: int | None,
    start: datetime.datetime,
    end: datetime.datetime,
) -> dict:
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
    by_therapist: dict[int, list] = defaultdict(list)
    for t_id, *block in hours:
        by_therapist[t_id].append(block)
    absences: dict[int, list] = defaultdict(list)
    for t_id, *span in time_off:
        absences[t_id].append(span)
    therapist_busy: dict[int, list] = defaultdict(list)
    room_busy: dict[int, list] = defaultdict(list)
    client_busy = []
    for t_id, r_id, c_id, *span in busy:
        therapist_busy[t_id].append(span)
        room_busy[r_id].append(span)
        if c_id == client_id:
            client_busy.append(span)
    return {
        "qualified": qualified,
        "hours": by_therapist,
        "time_off": absences,
        "rooms": rooms,
        "equipment": equipment,
        "needs": {t_id: frozenset(ids) for t_id, ids in needs},
        "therapist_busy": therapist_busy,
        "room_busy": room_busy,
        "client_busy": client_busy,
    }


def _intervals(spans) -> list[Interval]:
    return [
        Interval(datetime.datetime.fromisoformat(a), datetime.datetime.fromisoformat(b))
        for a, b in spans
    ]


def _time(value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def equipment_needs() -> dict[int, frozenset[int]]:
    """The equipment each bookable treatment needs (one query)."""
    rows = Treatment.objects.active().annotate(
        equipment_ids=ArrayAgg("equipment__id", filter=Q(equipment__isnull=False), default=[])
    )
    return {pk: frozenset(ids) for pk, ids in rows.values_list("pk", "equipment_ids")}


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
