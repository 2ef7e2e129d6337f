"""Appointments: a client's treatment with a therapist in a room, and what happens on
the day (the pre-session check, the front desk's follow-up calls)."""

import datetime

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    RangeBoundary,
    RangeOperators,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone

from spa_booking.encryption import EncryptedTextField

from .catalogue import (
    Room,
    Therapist,
    Treatment,
    TsTzRange,
)

# Named here because booking tells these refusals apart: another room may still be free;
# the client's own other appointment is a reason staff are told.
ROOM_OVERLAP = "appointments_appointment_no_room_overlap"
CLIENT_OVERLAP = "appointments_appointment_no_client_overlap"


def _no_overlap(field: str, name: str, message: str) -> ExclusionConstraint:
    """Two appointments that are not cancelled never block the same time of `field`.

    The condition names the one status that frees its time, not the ones that
    hold it, so a status added later blocks time until someone decides otherwise.
    """
    return ExclusionConstraint(
        name=name,
        expressions=[
            (TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
            (field, RangeOperators.EQUAL),
        ],
        condition=~Q(status="cancelled"),
        violation_error_message=message,
    )


class AppointmentStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", "Waiting for health review"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self) -> "AppointmentQuerySet":
        """Appointments that hold their time: everything but cancelled ones."""
        return self.exclude(status=Appointment.Status.CANCELLED)

    def upcoming(self, now: datetime.datetime | None = None) -> "AppointmentQuerySet":
        return self.filter(starts_at__gte=now or timezone.now()).order_by("starts_at")

    def past(self, now: datetime.datetime | None = None) -> "AppointmentQuerySet":
        return self.filter(starts_at__lt=now or timezone.now()).order_by("-starts_at")

    def overlapping(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> "AppointmentQuerySet":
        """Appointments whose blocked time touches [start, end)."""
        return self.filter(starts_at__lt=end, blocked_until__gt=start)

    def with_details(self) -> "AppointmentQuerySet":
        return self.select_related("treatment", "therapist", "room", "client__user")


class Appointment(models.Model):
    """A client's treatment with a therapist in a room, from starts_at to ends_at.

    The therapist and the room stay blocked until blocked_until (the treatment's
    buffer after it); PostgreSQL refuses any overlap of that blocked time.
    """

    Status = AppointmentStatus

    # Each of these is indexed with the start (Meta.indexes), which also serves the foreign
    # key: an index of its own would only cost every booking one more write.
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    therapist = models.ForeignKey(
        Therapist, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    treatment = models.ForeignKey(
        Treatment, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    blocked_until = models.DateTimeField(
        help_text="End of the treatment plus its buffer: therapist and room are busy until then."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=300, blank=True)
    # Bumped on every change the client's calendar should pick up (iCalendar SEQUENCE).
    revision = models.PositiveIntegerField(default=0)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # The health screening a back-walking appointment was booked on; a
    # pending_review appointment is held on it until staff decide.
    screening = models.ForeignKey(
        "screening.HealthScreening",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    hold_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A held appointment that nobody has reviewed by then is released.",
    )
    # Staff follow up with the client (the front desk calls): a back-walking
    # session the therapist stopped at the pre-session check, or one a new health
    # screening held for review or cancelled.
    needs_follow_up = models.BooleanField(default=False, db_default=False)
    # The booking form's one-time token: a double-submitted form books once.
    booking_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # When the front desk saw the client come in (appointments.visits.mark_arrived).
    arrived_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        permissions = [
            ("use_front_desk", "Can use the front desk: day book, bookings, arrivals, calls"),
        ]
        indexes = [
            # "My appointments" and the reminder run read by client or by start time.
            models.Index(fields=["client", "starts_at"], name="appointment_client_start_idx"),
            models.Index(fields=["starts_at"], name="appointment_start_idx"),
            # release_expired_holds: held bookings whose review deadline has passed.
            models.Index(
                fields=["hold_expires_at"],
                name="appointment_hold_expiry_idx",
                condition=Q(status="pending_review"),
            ),
            # send_reminders: open appointments starting soon that are owed their reminder.
            models.Index(
                fields=["starts_at"],
                name="appointment_reminder_due_idx",
                condition=Q(
                    reminder_sent_at__isnull=True, status__in=["confirmed", "pending_review"]
                ),
            ),
            # purge_health_records: clients whose cancellation reasons (health records)
            # date from before the retention cutoff. The purge blanks them, so it stays small.
            models.Index(
                fields=["starts_at"],
                name="appointment_reason_start_idx",
                condition=~Q(cancellation_reason=""),
            ),
            # The staff lists, newest first or by day, by one filter of the admin's (its
            # date bar's first and last too): a status (the front desk's held bookings),
            # a therapist (also the therapist's day, week and calendar feed), a room, a
            # treatment; the flagged for a call (the front desk's work list). Each reads
            # only the rows it shows.
            models.Index(fields=["status", "starts_at"], name="appointment_by_status_idx"),
            models.Index(fields=["therapist", "starts_at"], name="appointment_by_therapist_idx"),
            models.Index(fields=["room", "starts_at"], name="appointment_by_room_idx"),
            models.Index(fields=["treatment", "starts_at"], name="appointment_by_treatment_idx"),
            models.Index(
                fields=["starts_at"],
                condition=Q(needs_follow_up=True),
                name="appointment_follow_up_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="appointments_appointment_ends_after_start",
                violation_error_message="An appointment must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(blocked_until__gte=models.F("ends_at")),
                name="appointments_appointment_blocked_until_after_end",
                violation_error_message="The blocked time cannot end before the appointment.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values),
                name="appointments_appointment_known_status",
                violation_error_message="Unknown appointment status.",
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="appointments_appointment_cancelled_at_with_status",
                violation_error_message="A cancelled appointment records when it was cancelled.",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending_review")
                | Q(screening__isnull=False, hold_expires_at__isnull=False),
                name="appointments_appointment_hold_has_screening_and_expiry",
                violation_error_message="A held appointment needs its screening and an expiry.",
            ),
            _no_overlap(
                "therapist",
                "appointments_appointment_no_therapist_overlap",
                "The therapist already has an appointment at that time.",
            ),
            _no_overlap(
                "room",
                ROOM_OVERLAP,
                "The room is already taken at that time.",
            ),
            _no_overlap(
                "client",
                CLIENT_OVERLAP,
                "The client already has an appointment at that time.",
            ),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{self.treatment} with {self.therapist}, {start:%a %d %b %Y %H:%M}"

    @property
    def is_open(self) -> bool:
        """Still to happen: the client may cancel or move it (within the window)."""
        return self.status in (self.Status.PENDING_REVIEW, self.Status.CONFIRMED)


class FollowUpCall(models.Model):
    """The front desk called the client about a flagged appointment (needs_follow_up):
    who and when. Recording it clears the flag; the record stays."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="follow_up_calls"
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-called_at", "-pk"]

    def __str__(self) -> str:
        return f"Follow-up call #{self.pk}"


class PreSessionCheck(models.Model):
    """The therapist's check with the client before a back-walking session.

    Either the client confirmed nothing in their health changed and the check
    was done, or the therapist stopped the session and said why.
    """

    class Outcome(models.TextChoices):
        DONE = "done", "Checked: nothing has changed"
        STOPPED = "stopped", "Session stopped"

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="pre_session_check"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # Why a therapist stopped a session is health data: encrypted at rest.
    reason = EncryptedTextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The front desk's work list: which flagged appointments had their session
            # stopped (a few among every check the spa has recorded).
            models.Index(
                fields=["appointment"],
                condition=Q(outcome="stopped"),
                name="presessioncheck_stopped_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["done", "stopped"]),
                name="appointments_presessioncheck_known_outcome",
                violation_error_message="Unknown check outcome.",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="stopped", reason=""),
                name="appointments_presessioncheck_stop_has_reason",
                violation_error_message="Say why the session was stopped.",
            ),
        ]

    def __str__(self) -> str:
        return f"Pre-session check #{self.pk}"
