"""Changes to a booking: cancelling it, and moving it (through the claim booking uses)."""

import datetime
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import waitlist
from ..models import Appointment, Notice, Therapist
from .booking import Claimed, SlotRequest, check_start, claim_slot
from .errors import BookingError, Refusal
from .gate import under_age_refusal
from .outbox import owe_notice


@dataclass(frozen=True)
class ChangeRule:
    """Until when the client may cancel or move a booking online, and why that long."""

    deadline: datetime.datetime
    # The start is inside the cancellation window already: only the grace period after
    # booking is left to put a mistake right online.
    grace_only: bool

    @property
    def window_hours(self) -> str:
        return f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}"

    @property
    def grace_minutes(self) -> str:
        return f"{settings.SPA_CANCELLATION_GRACE_MINUTES:g}"


def change_rule(*, starts_at: datetime.datetime, booked_at: datetime.datetime) -> ChangeRule:
    """The rule for a booking of `starts_at` made at `booked_at` (for a move: when it was
    first booked). Online up to the cancellation window before the start, and in any case
    for a short grace period after booking, so that a slip (the wrong day, the wrong
    treatment) is put right without a phone call, however close the time; never once it
    has started."""
    window = datetime.timedelta(hours=settings.SPA_CANCELLATION_WINDOW_HOURS)
    grace_ends = booked_at + datetime.timedelta(minutes=settings.SPA_CANCELLATION_GRACE_MINUTES)
    # Added to the booking time, not taken from the start: a start in year 1 (a tampered
    # link) has no time before it to take from.
    if grace_ends + window > starts_at:
        return ChangeRule(deadline=min(grace_ends, starts_at), grace_only=True)
    return ChangeRule(deadline=starts_at - window, grace_only=False)


def change_rule_of(appointment: Appointment) -> ChangeRule:
    return change_rule(starts_at=appointment.starts_at, booked_at=appointment.created_at)


def online_change_deadline(appointment: Appointment) -> datetime.datetime:
    """Until when a client may cancel or move the appointment themselves."""
    return change_rule_of(appointment).deadline


def can_change_online(appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    return appointment.is_open and (now or timezone.now()) <= online_change_deadline(appointment)


def _check_window(appointment: Appointment, now: datetime.datetime, action: str) -> None:
    if now > online_change_deadline(appointment):
        hours = f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}"
        grace = f"{settings.SPA_CANCELLATION_GRACE_MINUTES:g}"
        raise BookingError(
            f"Appointments can only be {action} online up to {hours} hours before they start, "
            f"or within {grace} minutes of booking. Please call the spa on {settings.SPA_PHONE}.",
            code=Refusal.ONLINE_WINDOW,
        )


def _check_open(appointment: Appointment, action: str) -> None:
    if appointment.status == Appointment.Status.CANCELLED:
        raise BookingError("This appointment is already cancelled.", code=Refusal.ALREADY_CANCELLED)
    if not appointment.is_open:
        raise BookingError(
            f"This appointment has already taken place, so it cannot be {action}.",
            code=Refusal.ALREADY_HAPPENED,
        )


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
    owe_notice(locked, Notice.Kind.CANCELLATION)
    waitlist.time_freed(appointment=locked, now=now)
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
    """Move an appointment to a new start (and therapist), under the same rules as booking:
    the same claim, with the same retries for a room or a therapist taken on the way."""
    request = SlotRequest(
        client=appointment.client,
        treatment=appointment.treatment,
        start=start,
        therapist_id=therapist.pk if therapist is not None else None,
        now=now or timezone.now(),
        by_staff=by_staff,
        health_unchanged=health_unchanged,
        moving=appointment,
    )
    return claim_slot(request, check=_check_move, write=_move)


def _check_move(request: SlotRequest) -> SlotRequest:
    current = Appointment.objects.select_related("treatment", "client").get(pk=request.moving.pk)
    _check_open(current, "moved")
    if not request.by_staff:
        _check_window(current, request.now, "moved")
    check_start(request.start, request.now)
    refusal = under_age_refusal(client=current.client, treatment=current.treatment, now=request.now)
    if refusal:
        raise BookingError(refusal, code=Refusal.UNDER_AGE)
    return replace(request, moving=current, client=current.client, treatment=current.treatment)


def _move(request: SlotRequest, claimed: Claimed) -> Appointment:
    # Locked with the therapist and the client: cancelled or completed meanwhile?
    locked = Appointment.objects.get(pk=request.moving.pk)
    _check_open(locked, "moved")
    waitlist.time_freed(appointment=locked, now=request.now)  # the time it leaves
    slot, gate = claimed.slot, claimed.gate
    locked.therapist_id = slot.therapist_id
    locked.room_id = slot.room_id
    locked.starts_at = slot.start
    locked.ends_at = slot.end
    locked.blocked_until = slot.end + request.treatment.buffer
    locked.status = gate.status
    locked.screening = gate.screening
    locked.hold_expires_at = gate.hold_expires_at
    locked.revision += 1
    locked.updated_at = request.now
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
    owe_notice(locked, Notice.Kind.RESCHEDULE)
    return locked
