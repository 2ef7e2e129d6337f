"""Changes to a booking: cancelling it, and moving it (through the claim booking uses)."""

import datetime
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import waitlist
from ..models import Appointment, Notice, Therapist
from .booking import Claimed, SlotRequest, check_start, claim_slot
from .errors import BookingError, Refusal
from .gate import under_age_refusal
from .outbox import owe_notice


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
