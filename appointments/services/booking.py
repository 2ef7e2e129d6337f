"""Booking, and the one step booking and moving share: claiming a free slot.

Claiming looks at the free times, locks the therapist and the client (locking.py),
passes the back-walking gate, takes one more look at fresh data under the locks,
locks the room and writes. When the time goes to someone else on the way, it tries
again in a new transaction before saying "taken": another room for the same
therapist (another therapist's booking took the room), or the next free therapist
when the client asked for any (simultaneous "any therapist" bookings pick alike).
"""

import datetime
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from clients.models import Client
from spa_booking.written_once import Insert

from .. import free_times
from ..availability import Slot
from ..models import CLIENT_OVERLAP, ROOM_OVERLAP, Appointment, Notice, Therapist, Treatment
from . import locking
from .errors import TAKEN, BookingError, Refusal, TimeTaken, database_errors_as_booking_errors
from .gate import Gate, back_walking_gate, day_of, under_age_refusal
from .outbox import owe_notice

# Bookings of one time all look first at the same room (the least-equipped free one),
# so when several land at once each lost room is someone else's booking made: every
# retry is progress. This only bounds a pathological loop.
ROOM_RETRIES = 25


@dataclass(frozen=True)
class SlotRequest:
    """One booking or move: what claiming a slot needs to know."""

    client: Client
    treatment: Treatment
    start: datetime.datetime
    therapist_id: int | None  # None: any available therapist
    now: datetime.datetime
    by_staff: bool = False
    # For back-walking: the client confirmed nothing changed since their screening.
    health_unchanged: bool = False
    moving: Appointment | None = None  # the appointment being moved: its own time is free to it
    booking_token: uuid.UUID | None = None  # the booking form's one-time token

    @property
    def ignore_appointment_id(self) -> int | None:
        return self.moving.pk if self.moving is not None else None


@dataclass(frozen=True)
class Claimed:
    """A slot claimed under the locks, and what the gate let through."""

    slot: Slot
    gate: Gate


def check_start(start: datetime.datetime, now: datetime.datetime) -> None:
    if timezone.is_naive(start):
        raise BookingError(
            "Pick a time from the list of free times.", code=Refusal.PICK_A_LISTED_TIME
        )
    if start <= now:
        raise BookingError(
            "That time has already passed. Pick a time from the list of free times.",
            code=Refusal.PASSED,
        )
    horizon = settings.SPA_BOOKING_HORIZON_DAYS
    if start > now + datetime.timedelta(days=horizon):
        raise BookingError(
            f"Appointments can be booked up to {horizon} days ahead. "
            "Pick a time from the list of free times.",
            code=Refusal.BEYOND_HORIZON,
        )


def nearest_free_times(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    count: int = 4,
) -> list[Slot]:
    """Free times closest to `start`, within two days either side, one per start time.

    Never `start` itself: this answers a refusal of that time, so offering it again
    would send the person round in a circle.
    """
    day = day_of(start)
    # One slot a start (its first free therapist's): five days of every therapist's
    # slots cost a chain's refusal over 100 ms.
    slots = free_times.free_starts(
        treatment=treatment,
        first_day=day - datetime.timedelta(days=2),
        last_day=day + datetime.timedelta(days=2),
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
    )
    others = [slot for slot in slots if slot.start != start]
    return sorted(others, key=lambda slot: abs(slot.start - start))[:count]


def _alternatives(request: SlotRequest) -> list[Slot]:
    return nearest_free_times(
        treatment=request.treatment,
        start=request.start,
        therapist_id=request.therapist_id,
        client_id=request.client.pk,
        ignore_appointment_id=request.ignore_appointment_id,
    )


def _client_busy(request: SlotRequest) -> bool:
    """Whether the client's own other appointment blocks the time (the reason staff are told)."""
    blocked_until = request.start + request.treatment.duration + request.treatment.buffer
    return (
        Appointment.objects.active()
        .filter(client=request.client)
        .overlapping(request.start, blocked_until)
        .exclude(pk=request.ignore_appointment_id)
        .exists()
    )


def _not_available(request: SlotRequest) -> BookingError:
    return BookingError(
        "That time is not available. Here are the nearest free times.",
        alternatives=_alternatives(request),
        code=Refusal.CLIENT_BUSY if _client_busy(request) else Refusal.NOT_AVAILABLE,
    )


def _slots_at(request: SlotRequest, therapist_id: int | None) -> list[Slot]:
    return free_times.slots_at(
        treatment=request.treatment,
        start=request.start,
        therapist_id=therapist_id,
        client_id=request.client.pk,
        ignore_appointment_id=request.ignore_appointment_id,
        now=request.now,
        by_staff=request.by_staff,
    )


def _least_booked(slots: list[Slot], day: datetime.date) -> Slot:
    """'Any available therapist': one with the fewest appointments that day.

    Ties are broken at random, so clients booking the same time at the same moment
    spread over the free therapists instead of all queueing for one.
    """
    day_start, day_end = free_times.local_days(day)
    counts = dict(
        Appointment.objects.active()
        .filter(
            therapist_id__in=[slot.therapist_id for slot in slots],
            starts_at__gte=day_start,
            starts_at__lt=day_end,
        )
        .values_list("therapist_id")
        .annotate(n=Count("id"))
    )
    fewest = min(counts.get(slot.therapist_id, 0) for slot in slots)
    return random.choice([slot for slot in slots if counts.get(slot.therapist_id, 0) == fewest])


def _pick_therapist(request: SlotRequest, *, tried: frozenset[int], retrying: bool) -> int:
    """'Any available therapist': who is free at the start, leaving out those just tried."""
    candidates = [slot for slot in _slots_at(request, None) if slot.therapist_id not in tried]
    if not candidates:
        if retrying:
            raise TimeTaken  # free a moment ago, when we first looked
        raise _not_available(request)
    if request.moving is not None:
        # Keep the client's therapist when they are free at the new time.
        same = [slot for slot in candidates if slot.therapist_id == request.moving.therapist_id]
        if same:
            return same[0].therapist_id
    return _least_booked(candidates, day_of(request.start)).therapist_id


Check = Callable[[SlotRequest], SlotRequest]
Write = Callable[[SlotRequest, Claimed], Appointment]


@transaction.atomic
def _claim_once(
    request: SlotRequest, *, check: Check, write: Write, tried: frozenset[int], retrying: bool
) -> Appointment:
    request = check(request)
    chosen_by_us = request.therapist_id is None
    therapist_id = request.therapist_id
    if chosen_by_us:
        therapist_id = _pick_therapist(request, tried=tried, retrying=retrying)
    already = locking.lock_people(
        therapist_id=therapist_id,
        client_id=request.client.pk,
        appointment_id=request.ignore_appointment_id,
        booking_token=request.booking_token,
    )
    if already is not None:
        return Appointment.objects.get(pk=already)  # this form was booked a moment ago
    # With the therapist and client locked, competing bookings of either have finished,
    # and no staff decision on the client's screening can slip in before the write.
    gate = back_walking_gate(
        client=request.client,
        treatment=request.treatment,
        start=request.start,
        now=request.now,
        health_unchanged=request.health_unchanged,
    )
    slots = _slots_at(request, therapist_id)
    if not slots:
        if chosen_by_us or retrying:
            raise TimeTaken(therapist_id=therapist_id)  # free a moment ago
        raise _not_available(request)
    # Another therapist's booking may still take this room; the exclusion constraint
    # then refuses the write and claim_slot looks again.
    locking.lock_room(slots[0].room_id)
    return write(request, Claimed(slot=slots[0], gate=gate))


def claim_slot(request: SlotRequest, *, check: Check, write: Write) -> Appointment:
    """Claim a free slot for `request` and `write` it; each try in its own transaction.

    `check` runs first in every try (the caller's own rules, on fresh data) and may
    return the request refreshed; `write` makes the change from the claimed slot.
    """
    tried: frozenset[int] = frozenset()
    room_retries = 0
    while True:
        try:
            with database_errors_as_booking_errors():
                return _claim_once(
                    request,
                    check=check,
                    write=write,
                    tried=tried,
                    retrying=bool(tried) or room_retries > 0,
                )
        except TimeTaken as taken:
            if taken.constraint == ROOM_OVERLAP and room_retries < ROOM_RETRIES:
                room_retries += 1  # the therapist may still be free in another room
                continue
            if request.therapist_id is None and taken.therapist_id is not None:
                tried |= {taken.therapist_id}  # the next free therapist, if any
                continue
            raise BookingError(
                f"{TAKEN} Here are the nearest free times.",
                alternatives=_alternatives(request),
                code=Refusal.CLIENT_BUSY if taken.constraint == CLIENT_OVERLAP else Refusal.TAKEN,
            ) from None


def _booked_with(booking_token: uuid.UUID | None, client: Client) -> Appointment | None:
    if booking_token is None:
        return None
    return Appointment.objects.filter(booking_token=booking_token, client=client).first()


def book_appointment(
    *,
    client: Client,
    treatment: Treatment,
    start: datetime.datetime,
    therapist: Therapist | None = None,
    by_staff: bool = False,
    booking_token: uuid.UUID | None = None,
    health_unchanged: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Book `treatment` for `client` at `start`, with `therapist` or any available one.

    A booking_token that was already used returns the appointment it booked, so
    a form sent twice books once. For back-walking, health_unchanged is the
    client's confirmation that nothing changed since their screening.
    """
    request = SlotRequest(
        client=client,
        treatment=treatment,
        start=start,
        therapist_id=therapist.pk if therapist is not None else None,
        now=now or timezone.now(),
        by_staff=by_staff,
        health_unchanged=health_unchanged,
        booking_token=booking_token,
    )
    try:
        return claim_slot(request, check=_check_booking, write=_insert)
    except (BookingError, IntegrityError):
        # The same form sent again while the first one was being booked: its time
        # is "taken" by the first one, so answer with that appointment.
        already = _booked_with(booking_token, client)
        if already is not None:
            return already
        raise


def _check_booking(request: SlotRequest) -> SlotRequest:
    if not request.treatment.is_active:
        raise BookingError(
            "This treatment cannot be booked online at the moment.",
            code=Refusal.TREATMENT_NOT_BOOKABLE,
        )
    check_start(request.start, request.now)
    refusal = under_age_refusal(client=request.client, treatment=request.treatment, now=request.now)
    if refusal:
        raise BookingError(refusal, code=Refusal.UNDER_AGE)
    return request


# Every booking's one INSERT (spa_booking/written_once.py).
_NEW_APPOINTMENT = Insert(Appointment)


def _insert(request: SlotRequest, claimed: Claimed) -> Appointment:
    slot, gate = claimed.slot, claimed.gate
    appointment = Appointment(
        client=request.client,
        therapist_id=slot.therapist_id,
        treatment=request.treatment,
        room_id=slot.room_id,
        starts_at=slot.start,
        ends_at=slot.end,
        blocked_until=slot.end + request.treatment.buffer,
        status=gate.status,
        screening=gate.screening,
        hold_expires_at=gate.hold_expires_at,
        booking_token=request.booking_token,
        created_at=request.now,
        updated_at=request.now,
    )
    _NEW_APPOINTMENT.save(appointment)
    owe_notice(appointment, Notice.Kind.CONFIRMATION)
    # Whatever the path (online, front desk, admin), a wait for this treatment on this
    # day ends with the booking, in its transaction.
    from ..waitlist import settle_booking  # the waitlist builds on these services

    settle_booking(appointment=appointment, now=request.now)
    return appointment
