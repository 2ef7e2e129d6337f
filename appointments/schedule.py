"""Loads what availability.py needs from PostgreSQL, in a fixed number of queries.

However many therapists, rooms, days or appointments there are, computing the
free times of a treatment costs the same handful of queries.
"""

import datetime
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q
from django.utils import timezone

from . import availability
from .availability import BookingPolicy, Interval, RoomSchedule, Slot, TherapistSchedule
from .models import Appointment, Qualification, Room, TimeOff, Treatment, WorkingHours


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
    wide_start = window_start - datetime.timedelta(days=1)
    wide_end = window_end + datetime.timedelta(days=1)

    # Plain tuples rather than model instances: this runs on every booking and
    # every page of free times.
    qualifications = Qualification.objects.filter(treatment=treatment, therapist__is_active=True)
    if therapist_id is not None:
        qualifications = qualifications.filter(therapist_id=therapist_id)
    qualified_until = dict(qualifications.values_list("therapist_id", "expires_on"))
    therapist_ids = sorted(qualified_until)
    if not therapist_ids:
        return []

    hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    blocks = (
        WorkingHours.objects.filter(therapist_id__in=therapist_ids)
        .order_by("starts_at")
        .values_list("therapist_id", "weekday", "starts_at", "ends_at")
    )
    for t_id, weekday, block_start, block_end in blocks:
        hours[t_id][weekday].append((block_start, block_end))

    time_off: dict[int, list[Interval]] = defaultdict(list)
    absences = TimeOff.objects.filter(
        therapist_id__in=therapist_ids, starts_at__lt=wide_end, ends_at__gt=wide_start
    ).values_list("therapist_id", "starts_at", "ends_at")
    for t_id, absence_start, absence_end in absences:
        time_off[t_id].append(Interval(absence_start, absence_end))

    rooms = list(
        Room.objects.annotate(
            equipment_ids=ArrayAgg("equipment__id", filter=Q(equipment__isnull=False), default=[])
        ).values("id", "is_in_service", "equipment_ids")
    )
    room_ids = [room["id"] for room in rooms]

    therapist_busy: dict[int, list[Interval]] = defaultdict(list)
    room_busy: dict[int, list[Interval]] = defaultdict(list)
    client_busy: list[Interval] = []
    who = Q(therapist_id__in=therapist_ids) | Q(room_id__in=room_ids)
    if client_id is not None:
        who |= Q(client_id=client_id)
    busy = (
        Appointment.objects.active()
        .overlapping(wide_start, wide_end)
        .filter(who)
        .values_list("id", "therapist_id", "room_id", "client_id", "starts_at", "blocked_until")
    )
    for appointment_id, t_id, r_id, c_id, starts_at, blocked_until in busy:
        if appointment_id == ignore_appointment_id:
            continue
        span = Interval(starts_at, blocked_until)
        therapist_busy[t_id].append(span)
        room_busy[r_id].append(span)
        if c_id == client_id:
            client_busy.append(span)

    needs = equipment_needs()
    if treatment.pk in needs:
        equipment = needs[treatment.pk]
    else:  # no longer bookable, but an appointment of it may still be moved
        equipment = frozenset(treatment.equipment.values_list("id", flat=True))
    return availability.free_slots(
        treatment=availability.TreatmentSpec(
            duration=treatment.duration, buffer=treatment.buffer, equipment=equipment
        ),
        first_day=first_day,
        last_day=last_day,
        therapists=[
            TherapistSchedule(
                therapist_id=t_id,
                weekly_hours=hours[t_id],
                time_off=time_off[t_id],
                busy=therapist_busy[t_id],
                qualified=True,
                qualified_until=qualified_until[t_id],
            )
            for t_id in therapist_ids
        ],
        rooms=[
            RoomSchedule(
                room_id=room["id"],
                equipment=frozenset(room["equipment_ids"]),
                in_service=room["is_in_service"],
                busy=room_busy[room["id"]],
                demand=room_demand(frozenset(room["equipment_ids"]), needs, treatment.pk),
            )
            for room in rooms
        ],
        now=now,
        tz=spa_time_zone(),
        policy=booking_policy(by_staff=by_staff),
        client_busy=client_busy,
    )


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
