"""Booking operations: every write to an appointment goes through these functions.

Each runs in one transaction, re-checks every rule against fresh data, and
raises BookingError with a message for the person who asked. PostgreSQL's
exclusion constraints are the guarantee; the checks here only give a friendly
message first.
"""

import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from psycopg2 import errorcodes

from clients.age import is_adult_on
from clients.models import Client
from screening.eligibility import back_walking_verdict
from screening.models import HealthScreening

from . import schedule
from .availability import Slot
from .models import ROOM_OVERLAP, Appointment, Notice, Therapist, Treatment

TAKEN = "Sorry, that time was just taken."
BUSY = (
    "We could not finish your booking because many people are booking at once. "
    "Nothing was booked; please try again."
)


class BookingError(Exception):
    """A booking operation was refused; the message is for the person who asked."""

    def __init__(self, message: str, *, alternatives: list[Slot] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.alternatives = alternatives or []


class _TimeTaken(Exception):
    """Internal: the chosen time went to someone else while we were booking it."""

    def __init__(self, constraint: str | None = None) -> None:
        super().__init__(constraint)
        self.constraint = constraint  # the exclusion constraint that refused the write


@contextmanager
def _database_errors_as_booking_errors() -> Iterator[None]:
    """Turn what PostgreSQL says under concurrency into something a person can act on."""
    try:
        yield
    except IntegrityError as error:
        if getattr(error.__cause__, "pgcode", None) == errorcodes.EXCLUSION_VIOLATION:
            diagnostics = getattr(error.__cause__, "diag", None)
            raise _TimeTaken(getattr(diagnostics, "constraint_name", None)) from error
        raise
    except OperationalError as error:
        # Two bookings that wait on each other (deadlock) or wait too long for
        # a lock are both safe to retry: nothing was written.
        if getattr(error.__cause__, "pgcode", None) in (
            errorcodes.DEADLOCK_DETECTED,
            errorcodes.LOCK_NOT_AVAILABLE,
            errorcodes.SERIALIZATION_FAILURE,
        ):
            raise BookingError(BUSY) from error
        raise


def _lock_people(
    *,
    therapist_id: int,
    client_id: int,
    appointment_id: int | None = None,
    booking_token: uuid.UUID | None = None,
) -> int | None:
    """Lock the therapist and the client (and an appointment being moved), with a time limit.

    Concurrent inserts into an exclusion constraint can deadlock instead of one
    of them failing cleanly; holding row locks first makes competing bookings
    queue instead. Every path takes them in one order: therapist, client,
    appointment, then the room (_lock_room).

    With the client locked, a form sent twice is booked by one request at a time,
    so the id of the appointment an earlier send of `booking_token` made is
    exact: it is returned (None if there is none).
    """
    # One round trip: each statement takes its own snapshot, in this order.
    # NO KEY UPDATE: does not block the key-share lock a new appointment row
    # takes on its therapist, room and client.
    statements = [
        "SELECT set_config('lock_timeout', %s, true)",
        "SELECT 1 FROM appointments_therapist WHERE id = %s FOR NO KEY UPDATE",
        "SELECT 1 FROM clients_client WHERE id = %s FOR NO KEY UPDATE",
    ]
    params: list = [f"{settings.SPA_BOOKING_LOCK_TIMEOUT_MS}ms", therapist_id, client_id]
    if appointment_id is not None:
        statements.append("SELECT 1 FROM appointments_appointment WHERE id = %s FOR UPDATE")
        params.append(appointment_id)
    if booking_token is not None:
        statements.append(
            "SELECT id FROM appointments_appointment WHERE booking_token = %s AND client_id = %s"
        )
        params += [booking_token, client_id]
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements), params)
        row = cursor.fetchone() if booking_token is not None else None
    return row[0] if row else None


def lock_client(client_id: int) -> None:
    """Lock the client's row until the transaction ends.

    Every change that feeds the back-walking gate (booking, moving, a new screening,
    a staff decision, a therapist's stop, a date of birth correction) holds it, so
    the gate's inputs and the appointments judged on them change one at a time.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM clients_client WHERE id = %s FOR NO KEY UPDATE", [client_id])


def _lock_room(room_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM appointments_room WHERE id = %s FOR NO KEY UPDATE", [room_id])


def _check_start(start: datetime.datetime, now: datetime.datetime) -> None:
    if timezone.is_naive(start):
        raise BookingError("Pick a time from the list of free times.")
    if start <= now:
        raise BookingError("That time has already passed. Pick a time from the list of free times.")
    if start > now + datetime.timedelta(days=settings.SPA_BOOKING_HORIZON_DAYS):
        raise BookingError(
            f"Appointments can be booked up to {settings.SPA_BOOKING_HORIZON_DAYS} days ahead. "
            "Pick a time from the list of free times."
        )


def back_walking_refusal(
    *, client: Client, treatment: Treatment, now: datetime.datetime | None = None
) -> str | None:
    """Why `client` can never book `treatment` online today, whatever the day: the age check.

    18 or older on the day of booking, in the spa's time zone.
    """
    if not treatment.is_back_walking:
        return None
    now = now or timezone.now()
    if not is_adult_on(client.date_of_birth, timezone.localdate(now)):
        return (
            "Back-walking massage is only for adults aged 18 and over, so we cannot book it "
            "for you. You are welcome to book our other treatments."
        )
    return None


@dataclass(frozen=True)
class _Gate:
    status: str = Appointment.Status.CONFIRMED
    screening: HealthScreening | None = None
    hold_expires_at: datetime.datetime | None = None


def _back_walking_gate(
    *,
    client: Client,
    treatment: Treatment,
    start: datetime.datetime,
    now: datetime.datetime,
    health_unchanged: bool,
) -> _Gate:
    """The back-walking gate: booking and rescheduling (and so the admin) pass here.

    Age first, then a screening that is cleared (or approved) and valid on the
    appointment's day, re-confirmed by the client; a screening waiting for
    staff holds the appointment as pending_review until they decide.
    """
    if not treatment.is_back_walking:
        return _Gate()
    refusal = back_walking_refusal(client=client, treatment=treatment, now=now)
    if refusal:
        raise BookingError(refusal)
    verdict = back_walking_verdict(client=client, day=_day_of(start))
    if not verdict.allowed:
        raise BookingError(verdict.message)
    if not health_unchanged:
        raise BookingError(
            "Please confirm that nothing in your health has changed since your health "
            f"screening on {verdict.screening.submitted_on:%-d %B %Y}."
        )
    if not verdict.hold:
        return _Gate(screening=verdict.screening)
    expires = _hold_expiry(start=start, now=now)
    if expires is None:
        raise BookingError(
            "Our staff need to review your health screening before back-walking, and this "
            "time is too soon for that. Please pick a later time, or call us on "
            f"{settings.SPA_PHONE}."
        )
    return _Gate(
        status=Appointment.Status.PENDING_REVIEW,
        screening=verdict.screening,
        hold_expires_at=expires,
    )


def _hold_expiry(*, start: datetime.datetime, now: datetime.datetime) -> datetime.datetime | None:
    """When a hold for the staff review is released: after the review time, and early
    enough before the start. None when that has already passed: no time for a review."""
    expires = min(
        now + datetime.timedelta(hours=settings.SPA_REVIEW_HOLD_HOURS),
        start - datetime.timedelta(hours=settings.SPA_REVIEW_DEADLINE_HOURS),
    )
    return expires if expires > now else None


def _day_of(start: datetime.datetime) -> datetime.date:
    return start.astimezone(schedule.spa_time_zone()).date()


def _slots_at(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None,
    client_id: int,
    now: datetime.datetime,
    by_staff: bool,
    ignore_appointment_id: int | None = None,
) -> list[Slot]:
    day = _day_of(start)
    slots = schedule.free_slots(
        treatment=treatment,
        first_day=day,
        last_day=day,
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
        now=now,
        by_staff=by_staff,
    )
    return [slot for slot in slots if slot.start == start]


def nearest_free_times(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None = None,
    client_id: int | None = None,
    ignore_appointment_id: int | None = None,
    count: int = 4,
) -> list[Slot]:
    """Free times closest to `start`, within two days either side, one per start time."""
    day = _day_of(start)
    slots = schedule.free_slots(
        treatment=treatment,
        first_day=day - datetime.timedelta(days=2),
        last_day=day + datetime.timedelta(days=2),
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
    )
    by_start: dict[datetime.datetime, Slot] = {}
    for slot in slots:
        by_start.setdefault(slot.start, slot)
    return sorted(by_start.values(), key=lambda slot: abs(slot.start - start))[:count]


def _not_available(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None,
    client_id: int,
    ignore_appointment_id: int | None = None,
) -> BookingError:
    return BookingError(
        "That time is not available. Here are the nearest free times.",
        alternatives=nearest_free_times(
            treatment=treatment,
            start=start,
            therapist_id=therapist_id,
            client_id=client_id,
            ignore_appointment_id=ignore_appointment_id,
        ),
    )


def _free_at_or_refuse(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    client_id: int,
    now: datetime.datetime,
    by_staff: bool,
    ignore_appointment_id: int | None = None,
    free_a_moment_ago: bool = False,
) -> list[Slot]:
    """'Any available therapist': who is free at `start`, or a refusal with the nearest times.

    free_a_moment_ago: the time was free at the first look, so if nobody is free now,
    it was just taken."""
    candidates = _slots_at(
        treatment=treatment,
        start=start,
        therapist_id=None,
        client_id=client_id,
        now=now,
        by_staff=by_staff,
        ignore_appointment_id=ignore_appointment_id,
    )
    if not candidates:
        if free_a_moment_ago:
            raise _TimeTaken
        raise _not_available(
            treatment=treatment,
            start=start,
            therapist_id=None,
            client_id=client_id,
            ignore_appointment_id=ignore_appointment_id,
        )
    return candidates


def _one_look_under_locks(
    *,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int,
    client_id: int,
    now: datetime.datetime,
    by_staff: bool,
    chosen_by_us: bool,
    ignore_appointment_id: int | None = None,
) -> Slot:
    """With the therapist and client locked, competing bookings of either have
    finished: one look at fresh data says whether the time is free, and in which room."""
    slots = _slots_at(
        treatment=treatment,
        start=start,
        therapist_id=therapist_id,
        client_id=client_id,
        now=now,
        by_staff=by_staff,
        ignore_appointment_id=ignore_appointment_id,
    )
    if slots:
        return slots[0]
    if chosen_by_us:
        raise _TimeTaken  # free a moment ago, when we picked this therapist
    raise _not_available(
        treatment=treatment,
        start=start,
        therapist_id=therapist_id,
        client_id=client_id,
        ignore_appointment_id=ignore_appointment_id,
    )


def _under_the_locks(
    *,
    client: Client,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int,
    now: datetime.datetime,
    by_staff: bool,
    chosen_by_us: bool,
    health_unchanged: bool,
    ignore_appointment_id: int | None = None,
) -> tuple["_Gate", Slot]:
    """With the therapist and client locked: the back-walking gate, one look at the
    free times, then the room's lock."""
    # Under the client's lock, so a staff decision on their screening cannot
    # slip in between this check and the write.
    gate = _back_walking_gate(
        client=client, treatment=treatment, start=start, now=now, health_unchanged=health_unchanged
    )
    slot = _one_look_under_locks(
        treatment=treatment,
        start=start,
        therapist_id=therapist_id,
        client_id=client.pk,
        now=now,
        by_staff=by_staff,
        chosen_by_us=chosen_by_us,
        ignore_appointment_id=ignore_appointment_id,
    )
    # Another therapist's booking may take this room first; then the exclusion
    # constraint refuses the write and the person is offered other times.
    _lock_room(slot.room_id)
    return gate, slot


def _least_booked(slots: list[Slot], day: datetime.date) -> Slot:
    """'Any available therapist': the one with the fewest appointments that day."""
    day_start, day_end = schedule.local_days(day)
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
    return min(slots, key=lambda slot: (counts.get(slot.therapist_id, 0), slot.therapist_id))


def _owe_notice(appointment: Appointment, kind: str) -> None:
    """Owe the client an email about this change, in this transaction.

    A held appointment is not booked yet, so whatever the change, the client is
    told it waits for the review (the held email gives its time).

    The send_notices worker emails it once the change is committed, outside the
    request: a rolled-back change owes nothing, and a slow or broken mail server
    neither holds up nor fails a booking.
    """
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        kind = Notice.Kind.HELD
    appointment.notices.create(kind=kind, revision=appointment.revision)


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
    now = now or timezone.now()
    therapist_id = therapist.pk if therapist is not None else None
    # Another therapist's booking can take the room between our look at the free
    # times and our room lock. The therapist and the client may still be free in
    # another room, so one more look, in a new transaction, before saying "taken".
    for retrying in (False, True):
        try:
            with _database_errors_as_booking_errors():
                return _book(
                    client=client,
                    treatment=treatment,
                    start=start,
                    therapist_id=therapist_id,
                    by_staff=by_staff,
                    booking_token=booking_token,
                    health_unchanged=health_unchanged,
                    now=now,
                    retrying=retrying,
                )
        except (_TimeTaken, BookingError, IntegrityError) as refusal:
            # The same form sent again while the first one was being booked: its
            # time is "taken" by the first one, so answer with that appointment.
            already = _booked_with(booking_token, client)
            if already is not None:
                return already
            if not isinstance(refusal, _TimeTaken):
                raise
            if refusal.constraint != ROOM_OVERLAP:
                break
    raise BookingError(
        f"{TAKEN} Here are the nearest free times.",
        alternatives=nearest_free_times(
            treatment=treatment, start=start, therapist_id=therapist_id, client_id=client.pk
        ),
    )


@transaction.atomic
def _book(
    *,
    client: Client,
    treatment: Treatment,
    start: datetime.datetime,
    therapist_id: int | None,
    by_staff: bool,
    booking_token: uuid.UUID | None,
    health_unchanged: bool,
    now: datetime.datetime,
    retrying: bool = False,
) -> Appointment:
    if not treatment.is_active:
        raise BookingError("This treatment cannot be booked online at the moment.")
    _check_start(start, now)
    refusal = back_walking_refusal(client=client, treatment=treatment, now=now)
    if refusal:
        raise BookingError(refusal)
    chosen_by_us = therapist_id is None
    if chosen_by_us:
        candidates = _free_at_or_refuse(
            treatment=treatment,
            start=start,
            client_id=client.pk,
            now=now,
            by_staff=by_staff,
            free_a_moment_ago=retrying,
        )
        therapist_id = _least_booked(candidates, _day_of(start)).therapist_id
    already = _lock_people(
        therapist_id=therapist_id, client_id=client.pk, booking_token=booking_token
    )
    if already is not None:
        return Appointment.objects.get(pk=already)
    gate, slot = _under_the_locks(
        client=client,
        treatment=treatment,
        start=start,
        therapist_id=therapist_id,
        now=now,
        by_staff=by_staff,
        # On the second look the time was free a moment ago: if it is gone, it was taken.
        chosen_by_us=chosen_by_us or retrying,
        health_unchanged=health_unchanged,
    )
    appointment = Appointment.objects.create(
        client=client,
        therapist_id=slot.therapist_id,
        treatment=treatment,
        room_id=slot.room_id,
        starts_at=slot.start,
        ends_at=slot.end,
        blocked_until=slot.end + treatment.buffer,
        status=gate.status,
        screening=gate.screening,
        hold_expires_at=gate.hold_expires_at,
        booking_token=booking_token,
        created_at=now,
        updated_at=now,
    )
    _owe_notice(appointment, Notice.Kind.CONFIRMATION)
    return appointment


def online_change_deadline(appointment: Appointment) -> datetime.datetime:
    """Until when a client may cancel or move the appointment themselves."""
    return appointment.starts_at - datetime.timedelta(hours=settings.SPA_CANCELLATION_WINDOW_HOURS)


def can_change_online(appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    return appointment.is_open and (now or timezone.now()) <= online_change_deadline(appointment)


def _check_window(appointment: Appointment, now: datetime.datetime, action: str) -> None:
    if now > online_change_deadline(appointment):
        hours = f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}"
        raise BookingError(
            f"Appointments can only be {action} online up to {hours} hours before they start. "
            f"Please call the spa on {settings.SPA_PHONE}."
        )


def _check_open(appointment: Appointment, action: str) -> None:
    if appointment.status == Appointment.Status.CANCELLED:
        raise BookingError("This appointment is already cancelled.")
    if not appointment.is_open:
        raise BookingError(f"This appointment has already taken place, so it cannot be {action}.")


@transaction.atomic
def cancel_appointment(
    *,
    appointment: Appointment,
    reason: str = "",
    by_staff: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Cancel an appointment and free its time. Clients only up to the cancellation window."""
    now = now or timezone.now()
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_open(locked, "cancelled")
    if not by_staff:
        _check_window(locked, now, "cancelled")
    locked.status = Appointment.Status.CANCELLED
    locked.cancelled_at = now
    locked.cancellation_reason = reason.strip()[:300]
    locked.revision += 1
    locked.updated_at = now
    locked.save(
        update_fields=["status", "cancelled_at", "cancellation_reason", "revision", "updated_at"]
    )
    _owe_notice(locked, Notice.Kind.CANCELLATION)
    return locked


def reschedule_appointment(
    *,
    appointment: Appointment,
    start: datetime.datetime,
    therapist: Therapist | None = None,
    by_staff: bool = False,
    health_unchanged: bool = False,
    now: datetime.datetime | None = None,
) -> Appointment:
    """Move an appointment to a new start (and therapist), under the same rules as booking."""
    now = now or timezone.now()
    therapist_id = therapist.pk if therapist is not None else None
    try:
        with _database_errors_as_booking_errors():
            return _reschedule(
                appointment=appointment,
                start=start,
                therapist_id=therapist_id,
                by_staff=by_staff,
                health_unchanged=health_unchanged,
                now=now,
            )
    except _TimeTaken:
        raise BookingError(
            f"{TAKEN} Here are the nearest free times.",
            alternatives=nearest_free_times(
                treatment=appointment.treatment,
                start=start,
                therapist_id=therapist_id,
                client_id=appointment.client_id,
                ignore_appointment_id=appointment.pk,
            ),
        ) from None


@transaction.atomic
def _reschedule(
    *,
    appointment: Appointment,
    start: datetime.datetime,
    therapist_id: int | None,
    by_staff: bool,
    health_unchanged: bool,
    now: datetime.datetime,
) -> Appointment:
    current = Appointment.objects.select_related("treatment", "client").get(pk=appointment.pk)
    _check_open(current, "moved")
    if not by_staff:
        _check_window(current, now, "moved")
    _check_start(start, now)
    treatment, client = current.treatment, current.client
    refusal = back_walking_refusal(client=client, treatment=treatment, now=now)
    if refusal:
        raise BookingError(refusal)
    chosen_by_us = therapist_id is None
    if chosen_by_us:
        candidates = _free_at_or_refuse(
            treatment=treatment,
            start=start,
            client_id=client.pk,
            now=now,
            by_staff=by_staff,
            ignore_appointment_id=current.pk,
        )
        # Keep the client's therapist when they are free at the new time.
        same = [slot for slot in candidates if slot.therapist_id == current.therapist_id]
        therapist_id = (same[0] if same else _least_booked(candidates, _day_of(start))).therapist_id
    _lock_people(therapist_id=therapist_id, client_id=client.pk, appointment_id=current.pk)
    locked = Appointment.objects.get(pk=current.pk)
    _check_open(locked, "moved")
    gate, slot = _under_the_locks(
        client=client,
        treatment=treatment,
        start=start,
        therapist_id=therapist_id,
        now=now,
        by_staff=by_staff,
        chosen_by_us=chosen_by_us,
        health_unchanged=health_unchanged,
        ignore_appointment_id=locked.pk,
    )
    locked.therapist_id = slot.therapist_id
    locked.room_id = slot.room_id
    locked.starts_at = slot.start
    locked.ends_at = slot.end
    locked.blocked_until = slot.end + treatment.buffer
    locked.status = gate.status
    locked.screening = gate.screening
    locked.hold_expires_at = gate.hold_expires_at
    locked.revision += 1
    locked.updated_at = now
    locked.reminder_sent_at = None
    locked.save(
        update_fields=[
            "therapist",
            "room",
            "starts_at",
            "ends_at",
            "blocked_until",
            "status",
            "screening",
            "hold_expires_at",
            "revision",
            "updated_at",
            "reminder_sent_at",
        ]
    )
    _owe_notice(locked, Notice.Kind.RESCHEDULE)
    return locked
