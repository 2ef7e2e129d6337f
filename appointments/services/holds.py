"""The back-walking gate for the whole life of a booking: judging again, and holds.

A back-walking appointment passed the gate when it was booked, but the gate's
inputs can change afterwards: a new health screening, a staff decision on it, a
therapist stopping a session, a corrected date of birth, a treatment that becomes
back-walking, a hold for a review running out. Each of those changes calls
`rejudge_back_walking` in its own transaction, under the client's lock, and every
upcoming back-walking appointment of the client is judged again as a booking would
be on that day:

- the client is 18 or over on the day it was booked and on its day, and their
  latest screening clears that day: it stays (or a held one is confirmed);
- the screening waits for staff: it is held for the review, with the booking's
  expiry rule (an existing hold keeps its expiry, never a longer one);
- otherwise, or when there is no time left for a review, or a hold ran out before
  anyone decided: the spa cancels it with a reason the client can read, and the
  front desk is flagged to call.

The client is emailed about every change through the outbox. Only here are
held appointments confirmed or released.
"""

import datetime
import enum
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clients.age import is_adult_on
from clients.models import Client
from screening.eligibility import HealthScreening, current_screening, screening_verdict

from ..models import Appointment, Notice, Treatment
from .changes import cancel_appointment
from .gate import day_of, hold_expiry
from .locking import lock_client
from .outbox import owe_notice

__all__ = [
    "REVIEW_TOO_LATE",
    "Cause",
    "Change",
    "Reconsidered",
    "lock_client",
    "owe_decision_email",
    "rejudge_back_walking",
    "rejudge_treatment",
    "release_expired_holds",
    "under_age",
]


class Cause(enum.StrEnum):
    """What changed an input of the gate, which decides how a cancellation is worded."""

    NEW_SCREENING = "new_screening"
    DECISION = "decision"  # staff approved, declined or cleared a screening on a doctor's note
    SESSION_STOPPED = "session_stopped"  # a therapist stopped a session: back to review
    DATE_OF_BIRTH = "date_of_birth"
    TREATMENT = "treatment"  # the treatment became back-walking
    HOLD_EXPIRED = "hold_expired"


class Change(enum.StrEnum):
    """What judging again did to one upcoming back-walking appointment."""

    KEPT = "kept"  # stays as it was
    CONFIRMED = "confirmed"  # was held for a review, is now cleared
    HELD = "held"  # waits for staff to review the screening
    CANCELLED = "cancelled"  # by the spa, with a reason the client reads


@dataclass(frozen=True)
class Reconsidered:
    """One appointment judged again: as it is now, and what changed."""

    appointment: Appointment
    change: Change


REVIEW_TOO_LATE = "The health review was not completed in time."


def _long_day(day: datetime.date) -> str:
    return f"{day:%A %-d %B}"


def under_age(client: Client, appointment: Appointment) -> bool:
    """Not 18 on the day it was booked (the client consented then) or on its day."""
    booked_on = timezone.localdate(appointment.created_at)
    return not (
        is_adult_on(client.date_of_birth, booked_on)
        and is_adult_on(client.date_of_birth, day_of(appointment.starts_at))
    )


def _reason_too_young(day: datetime.date) -> str:
    return (
        "Back-walking massage is only for adults aged 18 and over, both on the day it is booked "
        f"and on the day itself, so your appointment on {_long_day(day)} cannot go ahead. Please "
        f"call us on {settings.SPA_PHONE} to change to another treatment."
    )


def _reason_not_allowed(cause: Cause, day: datetime.date) -> str:
    phone = settings.SPA_PHONE
    if cause == Cause.NEW_SCREENING:
        return (
            f"Your new health screening means back-walking cannot go ahead on {_long_day(day)}. "
            f"Please call us on {phone} to change to another treatment."
        )
    if cause == Cause.TREATMENT:
        return (
            f"This treatment now needs a health screening that clears you for back-walking, so "
            f"it cannot go ahead on {_long_day(day)}. Please call us on {phone}."
        )
    return (
        f"We have cancelled this appointment because your health screening no longer clears you "
        f"for back-walking on {_long_day(day)}. Please call us on {phone} to talk about it or to "
        "change to another treatment."
    )


def _reason_no_time_for_review(cause: Cause, day: datetime.date) -> str:
    new = "new " if cause == Cause.NEW_SCREENING else ""
    return (
        f"Our staff need to review your {new}health screening before back-walking, and there "
        f"is not enough time for that before your appointment on {_long_day(day)}. Please call "
        f"us on {settings.SPA_PHONE} to change to another treatment or another day."
    )


def _reason_hold_ran_out(*, now_cleared: bool) -> str:
    if now_cleared:
        return (
            f"{REVIEW_TOO_LATE} You are now cleared for back-walking: please book a new time, "
            f"or call us on {settings.SPA_PHONE}."
        )
    return REVIEW_TOO_LATE


def _cancel(appointment: Appointment, reason: str, now: datetime.datetime) -> Reconsidered:
    cancelled = cancel_appointment(appointment=appointment, reason=reason, by_staff=True, now=now)
    cancelled.needs_follow_up = True
    cancelled.save(update_fields=["needs_follow_up"])
    return Reconsidered(cancelled, Change.CANCELLED)


def _judge(
    appointment: Appointment, *, client: Client, cause: Cause, now: datetime.datetime
) -> Reconsidered:
    """The booking's verdict on one appointment, today, with the client locked."""
    day = day_of(appointment.starts_at)
    if under_age(client, appointment):
        return _cancel(appointment, _reason_too_young(day), now)
    screening = current_screening(client)
    verdict = screening_verdict(screening=screening, day=day)
    if not verdict.allowed:
        return _cancel(appointment, _reason_not_allowed(cause, day), now)
    held = appointment.status == Appointment.Status.PENDING_REVIEW
    if held and appointment.hold_expires_at <= now:
        # One hold policy: a hold that ran out is released, whatever was decided since.
        return _cancel(appointment, _reason_hold_ran_out(now_cleared=not verdict.hold), now)
    if verdict.hold:
        if held and appointment.screening_id == screening.pk:
            # Still waiting for the same review: the hold keeps its expiry, never a longer one.
            expires = appointment.hold_expires_at
        else:
            # A review of another screening: held as a booking would be, from now.
            expires = hold_expiry(start=appointment.starts_at, now=now)
        if expires is None:
            return _cancel(appointment, _reason_no_time_for_review(cause, day), now)
        unchanged = held and expires == appointment.hold_expires_at
        change = Change.KEPT if unchanged else Change.HELD
        status = Appointment.Status.PENDING_REVIEW
    else:
        expires = None
        change = Change.CONFIRMED if held else Change.KEPT
        status = Appointment.Status.CONFIRMED
    if change == Change.KEPT:
        if appointment.screening_id != screening.pk or appointment.hold_expires_at != expires:
            # Nothing the client or their calendar sees has changed: no revision, no email.
            appointment.screening = screening
            appointment.hold_expires_at = expires
            appointment.updated_at = now
            appointment.save(update_fields=["screening", "hold_expires_at", "updated_at"])
        return Reconsidered(appointment, change)
    appointment.screening = screening
    appointment.status = status
    appointment.hold_expires_at = expires
    appointment.needs_follow_up = appointment.needs_follow_up or change == Change.HELD
    appointment.revision += 1
    appointment.updated_at = now
    appointment.save(
        update_fields=[
            "screening",
            "status",
            "hold_expires_at",
            "needs_follow_up",
            "revision",
            "updated_at",
        ]
    )
    owe_notice(appointment, Notice.Kind.CONFIRMATION)
    return Reconsidered(appointment, change)


@transaction.atomic
def rejudge_back_walking(
    *, client: Client, cause: Cause, now: datetime.datetime | None = None
) -> list[Reconsidered]:
    """Judge every upcoming back-walking appointment of `client` again; see the module.

    Call it in the transaction that changed an input of the gate. Appointments whose
    pre-session check is recorded are under way (or stopped): the therapist's check
    settled them. Returns every appointment judged, by start.
    """
    now = now or timezone.now()
    # The client first, then the appointments by id: the order every path takes.
    lock_client(client.pk)
    client.refresh_from_db(fields=["date_of_birth"])
    appointments = (
        Appointment.objects.select_for_update(of=("self",))
        .filter(
            client=client,
            treatment__is_back_walking=True,
            starts_at__gt=now,
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
            pre_session_check__isnull=True,
        )
        .order_by("pk")
    )
    judged = [
        _judge(appointment, client=client, cause=cause, now=now) for appointment in appointments
    ]
    return sorted(judged, key=lambda reconsidered: reconsidered.appointment.starts_at)


@transaction.atomic
def rejudge_treatment(
    *, treatment: Treatment, now: datetime.datetime | None = None
) -> list[Reconsidered]:
    """A treatment became back-walking: every client booked for it is judged again."""
    now = now or timezone.now()
    if not treatment.is_back_walking:
        return []
    client_ids = (
        Appointment.objects.filter(
            treatment=treatment,
            starts_at__gt=now,
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
        )
        .order_by("client_id")
        .values_list("client_id", flat=True)
        .distinct()
    )
    judged = []
    for client in Client.objects.filter(pk__in=list(client_ids)).order_by("pk"):
        judged += rejudge_back_walking(client=client, cause=Cause.TREATMENT, now=now)
    return judged


def release_expired_holds(*, now: datetime.datetime | None = None) -> int:
    """Cancel held appointments that nobody reviewed in time. Safe to run often, and at the
    same moment as a staff decision: both take the client's lock, so one decides, once."""
    now = now or timezone.now()
    released = 0
    expired = Appointment.objects.filter(
        status=Appointment.Status.PENDING_REVIEW, hold_expires_at__lte=now
    )
    client_ids = expired.order_by("client_id").values_list("client_id", flat=True).distinct()
    for client in Client.objects.filter(pk__in=list(client_ids)).order_by("pk"):
        with transaction.atomic():
            lock_client(client.pk)
            # Under the lock: a decision that came first has already settled its holds.
            ran_out = list(expired.filter(client=client).select_for_update().order_by("pk"))
            rejudge_back_walking(client=client, cause=Cause.HOLD_EXPIRED, now=now)
            for appointment in ran_out:
                appointment.refresh_from_db()
                if appointment.status == Appointment.Status.PENDING_REVIEW:
                    # Its start has passed too (nobody ran this for hours): nothing to judge.
                    _cancel(appointment, REVIEW_TOO_LATE, now)
            released += len(ran_out)
    return released


def owe_decision_email(screening: HealthScreening) -> None:
    """Owe the client an email about a staff decision on their screening, in the
    decision's transaction.

    The send_notices worker emails it once the decision is committed, outside the
    staff member's request, so a slow or broken mail server neither holds up nor
    fails the review. Its revision is the number of decisions so far: a later
    decision makes this email old news, and only the latest goes out.
    """
    screening.notices.create(kind=Notice.Kind.DECISION, revision=screening.decisions.count())
