"""The waitlist: clients waiting for a treatment on a day or days, the times offered to
them, and the times that cancellations and moves free up."""

import datetime
import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    DateRangeField,
    RangeBoundary,
    RangeOperators,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .appointment import (
    Appointment,
)
from .catalogue import (
    Therapist,
    Treatment,
)


class DateRange(models.Func):
    """[first_day, last_day] with both days included, as PostgreSQL's daterange."""

    function = "DATERANGE"
    output_field = DateRangeField()


class WaitlistState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    # Emailed at least one time that came free; still waits for more until it ends.
    OFFERED = "offered", "Offered a time"
    BOOKED = "booked", "Booked"
    EXPIRED = "expired", "Expired"  # its last day passed
    WITHDRAWN = "withdrawn", "Left the waitlist"


# The states of an entry that still waits (the waitlist's "active").
WAITLIST_ACTIVE = [WaitlistState.WAITING, WaitlistState.OFFERED]


class WaitlistEntryQuerySet(models.QuerySet["WaitlistEntry"]):
    def active(self) -> "WaitlistEntryQuerySet":
        return self.filter(state__in=WAITLIST_ACTIVE)

    def waiting_on(self, day: datetime.date) -> "WaitlistEntryQuerySet":
        """Entries still waiting whose days include `day`."""
        return self.active().filter(first_day__lte=day, last_day__gte=day)

    def current(self, today: datetime.date) -> "WaitlistEntryQuerySet":
        """Entries still waiting on some day from `today` on (a passed one only waits for
        the worker to mark it expired)."""
        return self.active().filter(last_day__gte=today)


class WaitlistEntry(models.Model):
    """A client waiting for a treatment on a day or a range of days (appointments.waitlist).

    No health data here: what the client waits for, and who added it.
    """

    State = WaitlistState

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    treatment = models.ForeignKey(
        Treatment, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    therapist = models.ForeignKey(
        Therapist,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        help_text="Empty: any therapist.",
    )
    first_day = models.DateField()
    last_day = models.DateField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.WAITING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The staff member who added it for a caller; empty when the client joined online.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    # The booking that ended the wait.
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            # The worker's question for each freed time: who waits on its day?
            models.Index(
                fields=["first_day", "last_day"],
                name="waitlistentry_active_days_idx",
                condition=Q(state__in=WAITLIST_ACTIVE),
            ),
            # The admin's list in the order added, whole or by state.
            models.Index(fields=["created_at", "id"], name="waitlistentry_added_idx"),
            models.Index(fields=["state", "created_at"], name="waitlistentry_state_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=models.F("first_day")),
                name="appointments_waitlistentry_last_day_not_before_first",
                violation_error_message="The last day cannot be before the first day.",
            ),
            models.CheckConstraint(
                condition=Q(state__in=WaitlistState.values),
                name="appointments_waitlistentry_known_state",
                violation_error_message="Unknown waitlist state.",
            ),
            models.CheckConstraint(
                condition=Q(state=WaitlistState.BOOKED, appointment__isnull=False)
                | (~Q(state=WaitlistState.BOOKED) & Q(appointment__isnull=True)),
                name="appointments_waitlistentry_booked_with_its_appointment",
                violation_error_message="A booked waitlist entry names its appointment, and "
                "only a booked one does.",
            ),
            # One wait per client, treatment and day: a second entry over the same days would
            # only send the same client the same email twice.
            ExclusionConstraint(
                name="appointments_waitlistentry_no_overlapping_wait",
                expressions=[
                    ("client", RangeOperators.EQUAL),
                    ("treatment", RangeOperators.EQUAL),
                    (
                        DateRange("first_day", "last_day", RangeBoundary(inclusive_upper=True)),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(state__in=WAITLIST_ACTIVE),
                violation_error_message="The client is already on the waitlist for this "
                "treatment on some of these days.",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist entry #{self.pk}"

    def validate_constraints(self, exclude=None) -> None:
        # Django checks the no-overlap rule's condition (the state) only against the fields
        # it validates, and fails without it; a form never edits the state, which always
        # has its value here, so it is always part of the check.
        super().validate_constraints(exclude=set(exclude or ()) - {"state"})

    @property
    def is_active(self) -> bool:
        return self.state in WAITLIST_ACTIVE


def new_offer_token() -> str:
    return secrets.token_urlsafe(32)


class WaitlistOffer(models.Model):
    """A time that came free, emailed to one waiting client: the link in the email opens it.

    Not a hold: the time is open to everyone, and whoever books it first has it.
    """

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    starts_at = models.DateTimeField()
    # The secret in the email's link (only the entry's client, logged in, can use it).
    token = models.CharField(max_length=64, unique=True, default=new_offer_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="appointments_waitlistoffer_expires_after_it_is_made",
                violation_error_message="An offer must expire after it is made.",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist offer #{self.pk}"


class FreedTime(models.Model):
    """A time a cancellation or a move gave back, for the waitlist (an outbox).

    Written in the transaction that frees the time, only when someone waits on its day;
    the send_notices worker offers it to the people waiting (appointments.waitlist), so
    the cancellation itself never waits for the matching.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="+")
    # As they were before the change: a move changes the appointment's own.
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The worker's query: freed times not yet offered, oldest first.
            models.Index(
                fields=["id"], name="freedtime_unhandled_idx", condition=Q(handled_at=None)
            ),
            # purge_sent_notices: those offered before the retention period, oldest first.
            models.Index(
                fields=["handled_at"],
                name="freedtime_handled_idx",
                condition=Q(handled_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Freed time #{self.pk}"
