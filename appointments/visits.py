"""What happens on the day: the client arriving, the pre-session check, completed and
no-show.

The therapist of the appointment records these (staff can too); the front desk
records arrivals. Each is one transaction that re-checks the rules and raises
BookingError with a message for the person who asked.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from clients.models import User
from screening.eligibility import current_screening, screening_verdict
from screening.services import return_to_review

from .models import Appointment, PreSessionCheck
from .services import BookingError, cancel_appointment, lock_client
from .services.gate import day_of
from .services.holds import under_age

# The check is done with the client in the room, shortly before the session.
CHECK_OPENS_BEFORE_START = datetime.timedelta(hours=1)
# What the client reads; why it was stopped is health data, for the reviewers only.
STOPPED_REASON = (
    "Your therapist stopped this session at the check before it started, so it did not go "
    "ahead. We will call you to talk about what comes next."
)


def _lock_own(appointment: Appointment, by: User) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("treatment", "therapist", "screening", "client")
        .get(pk=appointment.pk)
    )
    if locked.therapist.user_id != by.pk and not by.is_staff:
        raise BookingError("This is not your appointment.")
    return locked


@sensitive_variables("reason")
@transaction.atomic
def record_pre_session_check(
    *,
    appointment: Appointment,
    by: User,
    nothing_changed: bool,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> PreSessionCheck:
    """Before back-walking: the client confirmed nothing changed, or the session stops.

    Stopping flags the appointment (and the client's other upcoming
    back-walking appointments) for staff, and sends the client's current
    screening back to review, so new back-walking bookings wait for staff.
    """
    now = now or timezone.now()
    # The client's lock first, as booking and a new screening take it before any
    # appointment's: stopping the session touches the client's other appointments
    # and screening, and the opposite order could deadlock with them.
    lock_client(appointment.client_id)
    locked = _lock_own(appointment, by)
    if not locked.treatment.is_back_walking:
        raise BookingError("Only back-walking sessions have a pre-session check.")
    if locked.status != Appointment.Status.CONFIRMED:
        raise BookingError("Only a confirmed appointment can be checked.")
    if PreSessionCheck.objects.filter(appointment=locked).exists():
        raise BookingError("The check for this session is already recorded.")
    if now < locked.starts_at - CHECK_OPENS_BEFORE_START:
        raise BookingError("The check is done with the client, just before the session.")
    reason = reason.strip()
    if not nothing_changed and not reason:
        raise BookingError("Say why the session is stopped, so staff can follow up.")
    if nothing_changed:
        _check_gate_on_the_day(locked, "go ahead")
    check = PreSessionCheck.objects.create(
        appointment=locked,
        outcome=PreSessionCheck.Outcome.DONE
        if nothing_changed
        else PreSessionCheck.Outcome.STOPPED,
        reason=reason,
        recorded_by=by,
        recorded_at=now,
    )
    if not nothing_changed:
        # The session does not go ahead: the spa cancels it (freeing the therapist and
        # the room, and telling the client the truth on their page), and calls them.
        locked = cancel_appointment(
            appointment=locked, reason=STOPPED_REASON, by_staff=True, now=now
        )
        locked.needs_follow_up = True
        locked.save(update_fields=["needs_follow_up"])
        screening = current_screening(locked.client)
        if screening is not None:
            # Back to review, which judges the client's other upcoming back-walking again.
            return_to_review(
                screening=screening, by=by, reason=f"Session stopped: {reason}", now=now
            )
    return check


def _check_gate_on_the_day(appointment: Appointment, what: str) -> None:
    """The gate once more at the door: a second line behind judging again on every change.

    The client is 18 or over on the appointment's day and on the day it was booked,
    and their latest screening clears that day with no review outstanding. The
    message is for the therapist, and names no health detail.
    """
    client = appointment.client
    if under_age(client, appointment):
        raise BookingError(
            f"This back-walking session cannot {what}: the client is under 18 on the day. "
            "Offer another treatment; staff have the details."
        )
    day = day_of(appointment.starts_at)
    verdict = screening_verdict(screening=current_screening(client), day=day)
    if not verdict.allowed or verdict.hold:
        raise BookingError(
            f"This back-walking session cannot {what}: the client's health screening does not "
            "clear back-walking today. Record the check as stopped, or offer another treatment."
        )


def _check_started(appointment: Appointment, now: datetime.datetime, what: str) -> None:
    if appointment.status != Appointment.Status.CONFIRMED:
        raise BookingError(f"Only a confirmed appointment can be marked {what}.")
    if now < appointment.starts_at:
        start = timezone.localtime(appointment.starts_at)
        raise BookingError(f"It can be marked {what} once it has started, at {start:%H:%M}.")


@transaction.atomic
def complete_appointment(
    *, appointment: Appointment, by: User, now: datetime.datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    locked = _lock_own(appointment, by)
    check = PreSessionCheck.objects.filter(appointment=locked).first()
    if check is not None and check.outcome == PreSessionCheck.Outcome.STOPPED:
        raise BookingError("This session was stopped at the check; staff follow it up.")
    _check_started(locked, now, "completed")
    if locked.treatment.is_back_walking:
        if check is None:
            raise BookingError(
                "Record the pre-session check first: a back-walking session is only completed "
                "after the client confirmed nothing has changed."
            )
        _check_gate_on_the_day(locked, "be marked completed")
    locked.status = Appointment.Status.COMPLETED
    locked.updated_at = now
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def mark_arrived(
    *, appointment: Appointment, by: User, now: datetime.datetime | None = None
) -> Appointment:
    """The front desk saw the client come in. Staff only, on the appointment's day, for
    one still to happen; marking it again changes nothing (two people at the desk)."""
    now = now or timezone.now()
    if not by.is_staff:
        raise BookingError("Only staff at the front desk record arrivals.")
    locked = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
    if locked.arrived_at is not None:
        return locked
    if not locked.is_open:
        raise BookingError(
            f"This appointment is {locked.get_status_display().lower()}, so nobody is expected."
        )
    if day_of(locked.starts_at) != timezone.localdate(now):
        raise BookingError("An arrival is recorded on the day of the appointment.")
    locked.arrived_at = now
    locked.updated_at = now
    locked.save(update_fields=["arrived_at", "updated_at"])
    return locked


@transaction.atomic
def mark_no_show(
    *, appointment: Appointment, by: User, now: datetime.datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    locked = _lock_own(appointment, by)
    if locked.arrived_at is not None:
        arrived = timezone.localtime(locked.arrived_at)
        raise BookingError(f"The client arrived at {arrived:%H:%M}, so this is not a no-show.")
    _check_started(locked, now, "a no-show")
    locked.status = Appointment.Status.NO_SHOW
    locked.updated_at = now
    locked.save(update_fields=["status", "updated_at"])
    return locked
