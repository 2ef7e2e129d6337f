from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from spa_booking.encryption import EncryptedJSONField, EncryptedTextField

from . import rules


class HealthScreeningQuerySet(models.QuerySet["HealthScreening"]):
    def latest_first(self) -> "HealthScreeningQuerySet":
        return self.order_by("-submitted_at", "-pk")

    def without_health_data(self) -> "HealthScreeningQuerySet":
        """The rows without their encrypted columns: nothing is decrypted unless read."""
        encrypted = [
            field.name
            for field in HealthScreening._meta.concrete_fields
            if isinstance(field, EncryptedJSONField | EncryptedTextField)
        ]
        return self.defer(*encrypted)

    def awaiting_review(self) -> "HealthScreeningQuerySet":
        """The review queue: screenings that need a human, oldest first."""
        return self.filter(review=HealthScreening.Review.PENDING).order_by("submitted_at", "pk")


class HealthScreening(models.Model):
    """One submitted health questionnaire, its triage outcome and any staff decision.

    The answers, outcome and signature never change after submission (a
    PostgreSQL trigger refuses it); new answers make a new screening. Only the
    review columns change, when staff decide.
    """

    class Outcome(models.TextChoices):
        CLEARED = rules.Outcome.CLEARED.value, "Cleared"
        NEEDS_REVIEW = rules.Outcome.NEEDS_REVIEW.value, "Needs staff review"
        NOT_ELIGIBLE = rules.Outcome.NOT_ELIGIBLE.value, "Not eligible"
        NOT_ELIGIBLE_UNTIL = rules.Outcome.NOT_ELIGIBLE_UNTIL.value, "Not eligible until a date"
        DOCTORS_NOTE = rules.Outcome.DOCTORS_NOTE.value, "Doctor's note required"

    class Review(models.TextChoices):
        NOT_NEEDED = "not_needed", "Not needed"
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    # PROTECT: PostgreSQL refuses to delete a screening (migration
    # 0007_screenings_are_never_deleted), so Django refuses to delete its client
    # first, with a readable message instead of a database error.
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="screenings"
    )
    # The submitted questionnaire: never changed after submission.
    # The Encrypted* fields are encrypted at rest (spa_booking/encryption.py).
    questionnaire_version = models.PositiveSmallIntegerField()
    answers = EncryptedJSONField()
    signature_name = EncryptedTextField(max_length=150)
    consented_at = models.DateTimeField()
    submitted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    eligible_from = models.DateField(null=True, blank=True)
    reasons = EncryptedJSONField(default=list, blank=True)
    therapist_notes = EncryptedJSONField(default=list, blank=True)
    valid_until = models.DateField()
    # The staff review: the only columns that change.
    review = models.CharField(max_length=20, choices=Review.choices)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = EncryptedTextField(
        blank=True,
        help_text="Why this was decided, written for the reviewers. The client sees it only in "
        "their own data (the right of access: docs/PRIVACY.md).",
    )
    therapist_note = EncryptedTextField(
        blank=True, help_text="What the therapist should know. Shown to the client's therapist."
    )
    cleared_on_doctors_note = models.BooleanField(default=False)
    # From the triage, never changed: False when a condition no doctor's note clears
    # (pregnancy, a spinal cord injury) is declared.
    note_can_clear = models.BooleanField(default=True, db_default=True)

    objects = HealthScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at"]
        permissions = [
            ("review_healthscreening", "Can see health answers and decide screenings"),
        ]
        indexes = [
            models.Index(fields=["client", "-submitted_at"], name="screening_client_latest_idx"),
            models.Index(fields=["review", "submitted_at"], name="screening_review_queue_idx"),
            # The admin's list of every screening, newest first; and purge_health_records:
            # clients with a screening from before the retention cutoff, the only ones who
            # can be due (ClientQuerySet.health_records_due_for_purge).
            models.Index(fields=["submitted_at", "id"], name="screening_submitted_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "cleared",
                        "needs_review",
                        "not_eligible",
                        "not_eligible_until",
                        "doctors_note",
                    ]
                ),
                name="screening_healthscreening_known_outcome",
                violation_error_message="Unknown screening outcome.",
            ),
            models.CheckConstraint(
                condition=Q(review__in=["not_needed", "pending", "approved", "declined"]),
                name="screening_healthscreening_known_review",
                violation_error_message="Unknown review state.",
            ),
            models.CheckConstraint(
                condition=~Q(outcome=rules.Outcome.NOT_ELIGIBLE_UNTIL.value)
                | Q(eligible_from__isnull=False),
                name="screening_healthscreening_waiting_has_a_date",
                violation_error_message="A screening that is not eligible until a date needs it.",
            ),
            models.CheckConstraint(
                condition=Q(review__in=["not_needed", "pending"])
                | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="screening_healthscreening_decision_recorded",
                violation_error_message="A decision records who made it and when.",
            ),
            models.CheckConstraint(
                condition=~Q(review="declined", review_note=""),
                name="screening_healthscreening_decline_has_reason",
                violation_error_message="Say why the screening is declined.",
            ),
            models.CheckConstraint(
                condition=Q(consented_at__isnull=False) & ~Q(signature_name=""),
                name="screening_healthscreening_consented_and_signed",
                violation_error_message="A screening needs consent and a signature.",
            ),
        ]

    def __str__(self) -> str:
        # Never the answers or the outcome: this string lands in logs and the admin history.
        return f"Health screening #{self.pk}"

    @property
    def submitted_on(self):
        return timezone.localdate(self.submitted_at)

    @property
    def awaits_review(self) -> bool:
        """Staff can approve or decline it."""
        return self.review == self.Review.PENDING

    @property
    def may_be_cleared_on_doctors_note(self) -> bool:
        """Staff may clear it on a doctor's note: a condition a note can clear, not yet
        cleared. The note never shortens a recovery wait (eligible_from still holds)."""
        return (
            self.outcome in (self.Outcome.NOT_ELIGIBLE, self.Outcome.DOCTORS_NOTE)
            and self.note_can_clear
            and self.review != self.Review.APPROVED
        )


class ScreeningToReview(HealthScreening):
    """The review queue in the admin: the same rows, seen as work to do."""

    class Meta:
        proxy = True
        verbose_name = "screening to review"
        verbose_name_plural = "screenings to review"


class ScreeningDecision(models.Model):
    """Every decision on a screening, kept: who, when, what and why.

    The screening row holds the current decision; this keeps the earlier ones
    too (a screening can go back to review when a therapist stops a session).
    """

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        CLEARED_ON_DOCTORS_NOTE = "doctors_note", "Cleared on a doctor's note"
        RETURNED_TO_REVIEW = "returned", "Sent back to review"

    # CASCADE only ever runs when a client is erased (screenings cannot be deleted
    # otherwise), and then it deletes the decisions before their screening.
    screening = models.ForeignKey(
        HealthScreening, on_delete=models.CASCADE, related_name="decisions"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    note = EncryptedTextField(blank=True, help_text="Why. For staff only.")

    class Meta:
        ordering = ["decided_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=["approved", "declined", "doctors_note", "returned"]),
                name="screening_screeningdecision_known_decision",
                violation_error_message="Unknown decision.",
            ),
        ]

    def __str__(self) -> str:
        return f"Decision #{self.pk} on health screening #{self.screening_id}"
