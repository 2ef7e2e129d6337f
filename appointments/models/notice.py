"""The outbox: the emails clients are owed, written in the transaction of the change."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .appointment import (
    Appointment,
)


class NoticeKind(models.TextChoices):
    CONFIRMATION = "confirmation", "Booking confirmation"
    HELD = "held", "Held for the health review"
    CANCELLATION = "cancellation", "Cancellation"
    RESCHEDULE = "reschedule", "New time"
    DECISION = "decision", "Screening decision"
    REMINDER = "reminder", "Reminder"
    # About an account, asked for by anyone who knows the address (ACCOUNT_KINDS).
    PASSWORD_RESET = "password_reset", "Password reset link"
    SIGN_UP = "sign_up", "Link to finish signing up"
    ACCOUNT_EXISTS = "account_exists", "Sign-up with an address that has an account"
    # A time came free that a client on the waitlist waits for (appointments.waitlist).
    WAITLIST_OFFER = "waitlist_offer", "Waitlist: a time came free"
    # A client the front desk added is invited to set a password (clients.invitations).
    INVITATION = "invitation", "Invitation to set a password"


# The notices about an account rather than an appointment or a screening. Anyone can
# ask for them with a form, so they are rate-limited (clients.services).
ACCOUNT_KINDS = [NoticeKind.PASSWORD_RESET, NoticeKind.SIGN_UP, NoticeKind.ACCOUNT_EXISTS]
# Every notice about an account: those, and the invitations staff send.
USER_KINDS = [*ACCOUNT_KINDS, NoticeKind.INVITATION]


def _exactly_one(*fields: str) -> Q:
    """A condition: exactly one of the foreign keys `fields` is set."""
    condition = Q()
    for chosen in fields:
        condition |= Q(**{f"{field}__isnull": field != chosen for field in fields})
    return condition


class NoticeQuerySet(models.QuerySet["Notice"]):
    def unsettled(self) -> "NoticeQuerySet":
        """Neither sent, nor skipped, nor given up: still owed to the client."""
        return self.filter(sent_at__isnull=True, skipped_at__isnull=True, given_up_at__isnull=True)

    def due(self, now: datetime.datetime | None = None) -> "NoticeQuerySet":
        """Owed, and its next attempt has come: what the sender reads, oldest first."""
        return (
            self.unsettled()
            .filter(next_attempt_at__lte=now or timezone.now())
            .order_by("next_attempt_at", "pk")
        )


class Notice(models.Model):
    """An email someone is owed about an appointment, a screening decision or their account
    (the outbox).

    The booking and screening services write it in the transaction that changes
    the appointment or decides the screening, so it exists exactly when the
    change is committed; the send_notices worker emails it afterwards, outside
    any request, and keeps it until the mail server has taken it.
    """

    Kind = NoticeKind

    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    screening = models.ForeignKey(
        "screening.HealthScreening",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notices",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="account_notices",
    )
    waitlist_offer = models.ForeignKey(
        "WaitlistOffer", null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    # For an account email someone asked for: a keyed hash of their address (never the
    # address), enough to count the emails one address has asked for.
    requested_from = models.CharField(max_length=64, blank=True, default="", db_default="")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    revision = models.PositiveIntegerField(
        help_text="The appointment's revision when the notice was written; for a screening "
        "decision, the number of decisions on the screening by then; 0 for an account email."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The mail failure's exception class and message, nothing else.
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A later notice of the same appointment (a later decision on the same
    # screening) made this one old news before it went out.
    skipped_at = models.DateTimeField(null=True, blank=True)
    # Too many failed attempts: the sender stopped trying and logged an error.
    given_up_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The sender's query (Notice.objects.due): owed notices by next attempt.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notice_due_idx",
                condition=Q(
                    sent_at__isnull=True, skipped_at__isnull=True, given_up_at__isnull=True
                ),
            ),
            # purge_sent_notices: notices sent, or skipped as old news, before the
            # retention period (SPA_SENT_NOTICE_RETENTION_DAYS), oldest first.
            models.Index(
                fields=["sent_at"], name="notice_sent_idx", condition=Q(sent_at__isnull=False)
            ),
            models.Index(
                fields=["skipped_at"],
                name="notice_skipped_idx",
                condition=Q(skipped_at__isnull=False),
            ),
            # The account emails' rate limit: how many one address asked for lately.
            models.Index(
                fields=["requested_from", "created_at"],
                name="notice_requested_from_idx",
                condition=~Q(requested_from=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NoticeKind.values),
                name="appointments_notice_known_kind",
                violation_error_message="Unknown kind of notice.",
            ),
            models.CheckConstraint(
                condition=_exactly_one("appointment", "screening", "user", "waitlist_offer"),
                name="appointments_notice_appointment_or_screening",
                violation_error_message="A notice is about an appointment, a screening, an "
                "account or a waitlist offer, exactly one of them.",
            ),
            # Together with the rule above: a waitlist offer's email is about the offer.
            models.CheckConstraint(
                condition=Q(kind=NoticeKind.WAITLIST_OFFER, waitlist_offer__isnull=False)
                | (~Q(kind=NoticeKind.WAITLIST_OFFER) & Q(waitlist_offer__isnull=True)),
                name="appointments_notice_waitlist_offer_about_an_offer",
                violation_error_message="A waitlist email is about a waitlist offer; other "
                "emails are not.",
            ),
            # Together with the rule above: account emails are about an account, and
            # only they are.
            models.CheckConstraint(
                condition=Q(kind__in=USER_KINDS, user__isnull=False)
                | (~Q(kind__in=USER_KINDS) & Q(user__isnull=True)),
                name="appointments_notice_account_email_about_an_account",
                violation_error_message="A password reset, sign-up or invitation email is "
                "about an account; other emails are about an appointment or a screening.",
            ),
            # Together with the rule above: appointment news is about an appointment.
            models.CheckConstraint(
                condition=Q(kind=NoticeKind.DECISION, screening__isnull=False)
                | (~Q(kind=NoticeKind.DECISION) & Q(screening__isnull=True)),
                name="appointments_notice_decision_about_a_screening",
                violation_error_message="A screening decision email is about a screening; "
                "other emails are not.",
            ),
            # Every change of an appointment bumps its revision and owes at most one email.
            # A reminder is not a change: it is written at the revision it reminds of.
            models.UniqueConstraint(
                fields=["appointment", "revision"],
                condition=~Q(kind=NoticeKind.REMINDER),
                name="appointments_notice_once_per_revision",
                violation_error_message="This change of the appointment already has its notice.",
            ),
            # One reminder per time of the appointment, even when two send_reminders
            # runs overlap; a move (a new revision) owes a reminder of the new time.
            models.UniqueConstraint(
                fields=["appointment", "revision"],
                condition=Q(kind=NoticeKind.REMINDER),
                name="appointments_notice_reminder_once_per_revision",
                violation_error_message="The appointment already has its reminder.",
            ),
            # Every decision on a screening owes at most one email.
            models.UniqueConstraint(
                fields=["screening", "revision"],
                name="appointments_notice_once_per_decision",
                violation_error_message="This decision on the screening already has its notice.",
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True, skipped_at__isnull=True)
                | Q(sent_at__isnull=True, given_up_at__isnull=True)
                | Q(skipped_at__isnull=True, given_up_at__isnull=True),
                name="appointments_notice_settled_once",
                violation_error_message="A notice is sent, skipped or given up, only one of them.",
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True, given_up_at__isnull=True) | Q(attempts__gt=0),
                name="appointments_notice_settled_by_an_attempt",
                violation_error_message="A notice is only sent or given up after an attempt.",
            ),
            models.CheckConstraint(
                condition=Q(given_up_at__isnull=True) | ~Q(last_error=""),
                name="appointments_notice_given_up_with_its_error",
                violation_error_message="A notice given up keeps the error that stopped it.",
            ),
        ]

    def __str__(self) -> str:
        # Never what was decided: this string lands in logs and the admin.
        if self.screening_id is not None:
            return f"{self.get_kind_display()} for health screening #{self.screening_id}"
        if self.user_id is not None:
            return f"{self.get_kind_display()} for account #{self.user_id}"
        if self.waitlist_offer_id is not None:
            return f"{self.get_kind_display()} for waitlist offer #{self.waitlist_offer_id}"
        return f"{self.get_kind_display()} for appointment #{self.appointment_id}"
