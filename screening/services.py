"""Screening operations: submitting answers and the staff decisions on them."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from appointments.services import holds
from clients.models import Client, User

from . import rules
from .eligibility import current_screening
from .models import HealthScreening, ScreeningDecision


class ScreeningError(Exception):
    """A screening operation was refused; the message is for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _same_name(typed: str, full_name: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(full_name.split()).casefold()


@dataclass(frozen=True)
class Decided:
    screening: HealthScreening
    # The client's upcoming back-walking appointments, judged again on the decision.
    appointments: list[holds.Reconsidered]


@dataclass(frozen=True)
class Submission:
    screening: HealthScreening
    # The client's upcoming back-walking appointments, judged again on it.
    appointments: list[holds.Reconsidered]


@sensitive_variables("answers", "triage")
def submit_screening(
    *,
    client: Client,
    answers: rules.Answers,
    signature_name: str,
    consent: bool,
    now: datetime.datetime | None = None,
) -> Submission:
    """Store a new screening with its triage. It becomes the client's current one, so in
    the same transaction the client's upcoming back-walking appointments are judged
    again on it (held, cancelled or confirmed as it says)."""
    now = now or timezone.now()
    if not consent:
        raise ScreeningError(
            "Please agree to us storing your health answers, so we can check back-walking is "
            "safe for you."
        )
    if not _same_name(signature_name, client.full_name):
        raise ScreeningError(
            f"To sign, type your full name as it is on your account: {client.full_name}."
        )
    today = timezone.localdate(now)
    triage = rules.triage(answers, today=today)
    with transaction.atomic():
        # The same lock staff decisions take, so a decision and a new
        # submission for one client happen one after the other.
        holds.lock_client(client.pk)
        reasons = list(triage.reasons)
        sent_to_staff = _staff_must_clear(client)
        if sent_to_staff:
            reasons.append(sent_to_staff)
        needs_review = triage.outcome == rules.Outcome.NEEDS_REVIEW or (
            sent_to_staff and triage.outcome in _REVIEWABLE
        )
        screening = HealthScreening.objects.create(
            client=client,
            questionnaire_version=rules.QUESTIONNAIRE_VERSION,
            answers=answers.to_json(),
            signature_name=" ".join(signature_name.split()),
            consented_at=now,
            submitted_at=now,
            outcome=triage.outcome.value,
            eligible_from=triage.eligible_from,
            reasons=reasons,
            therapist_notes=list(triage.therapist_notes),
            note_can_clear=triage.note_can_clear,
            valid_until=rules.valid_until(today, settings.SPA_SCREENING_VALID_MONTHS),
            review=(
                HealthScreening.Review.PENDING
                if needs_review
                else HealthScreening.Review.NOT_NEEDED
            ),
        )
        reconsidered = holds.rejudge_back_walking(
            client=client, cause=holds.Cause.NEW_SCREENING, now=now
        )
    return Submission(screening=screening, appointments=reconsidered)


# Outcomes a reviewer's approval clears (with any wait); the others need a doctor's note.
_REVIEWABLE = (rules.Outcome.CLEARED, rules.Outcome.NEEDS_REVIEW, rules.Outcome.NOT_ELIGIBLE_UNTIL)


def _staff_must_clear(client: Client) -> str:
    """Why the client's next screening goes to staff whatever it says ("" if it need not).

    After a therapist stopped a session or a reviewer declined, only a reviewer
    clears the client again: a fresh "nothing to declare" must not do it alone.
    """
    latest = (
        ScreeningDecision.objects.filter(screening__client=client)
        .order_by("-pk")  # the order they were made in, under the client's lock
        .values_list("decision", flat=True)
        .first()
    )
    if latest == ScreeningDecision.Decision.RETURNED_TO_REVIEW:
        return "Staff review needed: a therapist stopped an earlier session"
    if latest == ScreeningDecision.Decision.DECLINED:
        return "Staff review needed: an earlier screening was declined"
    return ""


def _check_not_own(screening: HealthScreening, by: User) -> None:
    if screening.client.user_id == by.pk:
        raise ScreeningError(
            "You cannot decide on your own health screening: another reviewer has to."
        )


def _lock_current(screening: HealthScreening, by: User) -> HealthScreening:
    """Lock the client, then check the screening is still their current one, and not
    the decider's own."""
    holds.lock_client(screening.client_id)
    fresh = (
        HealthScreening.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=screening.pk)
    )
    _check_not_own(fresh, by)
    latest = current_screening(fresh.client)
    if latest is None or latest.pk != fresh.pk:
        raise ScreeningError(
            "The client has submitted a newer screening since this one, so this one can no "
            "longer be decided. Review the newer one."
        )
    return fresh


def _lock_awaiting_review(screening: HealthScreening, by: User) -> Decided:
    fresh = _lock_current(screening, by)
    if not fresh.awaits_review:
        raise ScreeningError("This screening is not waiting for a review.")
    return fresh


def _decide(
    screening: HealthScreening,
    *,
    review: str,
    by: User,
    note: str,
    therapist_note: str,
    now: datetime.datetime,
    doctors_note: bool = False,
) -> Decided:
    ScreeningDecision.objects.create(
        screening=screening,
        decision=(ScreeningDecision.Decision.CLEARED_ON_DOCTORS_NOTE if doctors_note else review),
        decided_by=by,
        decided_at=now,
        note=note.strip(),
    )
    screening.review = review
    screening.reviewed_by = by
    screening.reviewed_at = now
    screening.review_note = note.strip()
    screening.therapist_note = therapist_note.strip()
    screening.cleared_on_doctors_note = doctors_note
    screening.save(
        update_fields=[
            "review",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "therapist_note",
            "cleared_on_doctors_note",
        ]
    )
    holds.owe_decision_email(screening)
    judged = holds.rejudge_back_walking(
        client=screening.client, cause=holds.Cause.DECISION, now=now
    )
    return Decided(screening=screening, appointments=judged)


def _review(
    screening: HealthScreening,
    *,
    review: str,
    by: User,
    note: str,
    therapist_note: str,
    now: datetime.datetime,
) -> HealthScreening:
    """Approve or decline a screening that waits for review; the reviewer says why."""
    if not note.strip():
        verb = "approved" if review == HealthScreening.Review.APPROVED else "declined"
        raise ScreeningError(
            f"Say why the screening is {verb} (for staff; the client does not see it)."
        )
    return _decide(
        _lock_awaiting_review(screening, by),
        review=review,
        by=by,
        note=note,
        therapist_note=therapist_note,
        now=now,
    )


@transaction.atomic
def approve_screening(
    *,
    screening: HealthScreening,
    by: User,
    note: str,
    therapist_note: str = "",
    now: datetime.datetime | None = None,
) -> Decided:
    """Staff clear a screening that needed review; its held appointments are confirmed.

    Like every decision, it records why: the reviewer is the one clearing a client
    the rules did not clear."""
    now = now or timezone.now()
    return _review(
        screening,
        review=HealthScreening.Review.APPROVED,
        by=by,
        note=note,
        therapist_note=therapist_note,
        now=now,
    )


@transaction.atomic
def decline_screening(
    *,
    screening: HealthScreening,
    by: User,
    note: str,
    therapist_note: str = "",
    now: datetime.datetime | None = None,
) -> Decided:
    """Staff decline a screening that needed review; its held appointments are cancelled."""
    now = now or timezone.now()
    return _review(
        screening,
        review=HealthScreening.Review.DECLINED,
        by=by,
        note=note,
        therapist_note=therapist_note,
        now=now,
    )


@transaction.atomic
def clear_on_doctors_note(
    *,
    screening: HealthScreening,
    by: User,
    note: str,
    therapist_note: str = "",
    now: datetime.datetime | None = None,
) -> Decided:
    """Staff clear a not-eligible screening because a doctor says back-walking is safe."""
    now = now or timezone.now()
    if not note.strip():
        raise ScreeningError("Describe the doctor's note (who wrote it and when).")
    fresh = _lock_current(screening, by)
    if fresh.review == HealthScreening.Review.APPROVED:
        raise ScreeningError("This screening is already cleared.")
    if not fresh.may_be_cleared_on_doctors_note:
        raise ScreeningError(
            "Only a screening that is not eligible, or needs a doctor's note, is cleared on a "
            "doctor's note, and never pregnancy or a spinal cord injury."
        )
    return _decide(
        fresh,
        review=HealthScreening.Review.APPROVED,
        by=by,
        note=note,
        therapist_note=therapist_note,
        now=now,
        doctors_note=True,
    )


@transaction.atomic
def return_to_review(
    *, screening: HealthScreening, by: User, reason: str, now: datetime.datetime | None = None
) -> HealthScreening:
    """A therapist stopped a session: the screening waits for staff again.

    The earlier decisions stay on record (ScreeningDecision), with this one.
    """
    now = now or timezone.now()
    holds.lock_client(screening.client_id)
    fresh = (
        HealthScreening.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=screening.pk)
    )
    ScreeningDecision.objects.create(
        screening=fresh,
        decision=ScreeningDecision.Decision.RETURNED_TO_REVIEW,
        decided_by=by,
        decided_at=now,
        note=reason.strip(),
    )
    if fresh.review != HealthScreening.Review.PENDING:
        fresh.review = HealthScreening.Review.PENDING
        fresh.save(update_fields=["review"])
    holds.rejudge_back_walking(client=fresh.client, cause=holds.Cause.SESSION_STOPPED, now=now)
    return fresh
