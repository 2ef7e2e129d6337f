import datetime
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    DateRangeField,
    DateTimeRangeField,
    RangeBoundary,
    RangeOperators,
)
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from spa_booking.encryption import EncryptedTextField


class Equipment(models.Model):
    """Something a room has and a treatment may need: overhead bars, a floor mat with rope."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "equipment"

    def __str__(self) -> str:
        return self.name


class TreatmentQuerySet(models.QuerySet["Treatment"]):
    def active(self) -> "TreatmentQuerySet":
        return self.filter(is_active=True)

    def with_offer_gaps(self, today: datetime.date | None = None) -> "TreatmentQuerySet":
        """Annotate `has_therapist` (an active therapist qualified for it today) and
        `has_room` (a room in service with all the equipment it needs)."""
        today = today or timezone.localdate()
        qualified = Qualification.objects.filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=today),
            treatment=OuterRef("pk"),
            therapist__is_active=True,
        )
        # Equipment the treatment needs (two levels up) that a room (one level up) lacks.
        room_has = Room.equipment.through.objects.filter(
            room_id=OuterRef(OuterRef("pk")), equipment_id=OuterRef("equipment_id")
        )
        missing = Treatment.equipment.through.objects.filter(
            treatment_id=OuterRef(OuterRef("pk"))
        ).exclude(Exists(room_has))
        suitable_room = Room.objects.in_service().exclude(Exists(missing))
        return self.annotate(has_therapist=Exists(qualified), has_room=Exists(suitable_room))

    def offered_online(self) -> "TreatmentQuerySet":
        """Bookable, with a qualified therapist and a suitable room: the treatments the site
        offers. One without either would show an empty calendar."""
        return self.active().with_offer_gaps().filter(has_therapist=True, has_room=True)


class Treatment(models.Model):
    """What the spa sells."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.CharField(max_length=200, help_text="One line for the treatment list.")
    description = models.TextField()
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_minutes = models.PositiveSmallIntegerField(
        default=15,
        help_text="Time after the treatment that the therapist and room stay blocked "
        "(cleaning, notes, a breather).",
    )
    price = models.DecimalField(max_digits=7, decimal_places=2)
    is_back_walking = models.BooleanField(
        "back-walking",
        default=False,
        help_text="Back-walking treatments need the age check and a health screening.",
    )
    equipment = models.ManyToManyField(
        Equipment,
        blank=True,
        related_name="treatments",
        help_text="A room must have all of this to host the treatment.",
    )
    is_active = models.BooleanField("bookable", default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the site.")

    objects = TreatmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0),
                name="appointments_treatment_duration_positive",
                violation_error_message="A treatment must last at least a minute.",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=Decimal("0")),
                name="appointments_treatment_price_not_negative",
                violation_error_message="The price cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.buffer_minutes)


class RoomQuerySet(models.QuerySet["Room"]):
    def in_service(self) -> "RoomQuerySet":
        return self.filter(is_in_service=True)


class Room(models.Model):
    name = models.CharField(max_length=80, unique=True)
    equipment = models.ManyToManyField(Equipment, blank=True, related_name="rooms")
    is_in_service = models.BooleanField(
        "in service",
        default=True,
        help_text="Untick to stop new bookings in this room (repairs, deep clean).",
    )

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TherapistQuerySet(models.QuerySet["Therapist"]):
    def active(self) -> "TherapistQuerySet":
        return self.filter(is_active=True)


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class Therapist(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapist"
    )
    # The secret in the therapist's calendar feed address; replacing it cuts off
    # every calendar app that had the old address.
    feed_token = models.CharField(
        max_length=64, unique=True, default=new_feed_token, editable=False
    )
    display_name = models.CharField(max_length=80, help_text="The name clients see.")
    bio = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Untick when the therapist no longer takes bookings."
    )
    treatments = models.ManyToManyField(
        Treatment, through="Qualification", related_name="therapists", blank=True
    )

    objects = TherapistQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class Qualification(models.Model):
    """A therapist may give a treatment; a back-walking qualification can expire."""

    therapist = models.ForeignKey(
        Therapist, on_delete=models.CASCADE, related_name="qualifications"
    )
    treatment = models.ForeignKey(
        Treatment, on_delete=models.CASCADE, related_name="qualifications"
    )
    expires_on = models.DateField(
        null=True,
        blank=True,
        help_text="Last day the qualification is valid. Leave empty if it does not expire.",
    )

    class Meta:
        ordering = ["treatment__position", "treatment__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["therapist", "treatment"],
                name="appointments_qualification_once_per_treatment",
                violation_error_message="The therapist already has this qualification.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.therapist} \u2013 {self.treatment}"


class TimeOfDayRange(models.Func):
    """[starts_at, ends_at) of a time of day as a range PostgreSQL can index: it has ranges
    of timestamps, not of times, so both are put on one fixed date (date + time is
    immutable, as an index needs)."""

    template = "tsrange(DATE '2000-01-03' + %(expressions)s, '[)')"
    arg_joiner = ", DATE '2000-01-03' + "
    output_field = DateTimeRangeField()


class WorkingHours(models.Model):
    """One block of a therapist's regular week; a day may have several (a split shift)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["therapist", "weekday", "starts_at"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="appointments_workinghours_ends_after_start",
                violation_error_message="A block of working hours must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="appointments_workinghours_known_weekday",
                violation_error_message="Pick a day of the week.",
            ),
            # One block per stretch of time: overlapping blocks said nothing more, and
            # showed the day twice ("18:15-23:59, 18:15-23:59"). Blocks may touch.
            ExclusionConstraint(
                name="appointments_workinghours_no_overlap",
                expressions=[
                    ("therapist", RangeOperators.EQUAL),
                    ("weekday", RangeOperators.EQUAL),
                    (TimeOfDayRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This block of working hours overlaps another block "
                "of the same therapist on the same day. Change one of them, or make them "
                "one block.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}\u2013{self.ends_at:%H:%M}"


class TimeOff(models.Model):
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="appointments_timeoff_ends_after_start",
                violation_error_message="Time off must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"Time off from {start:%d %b %Y %H:%M}"


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


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

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="appointments"
    )
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="appointments")
    treatment = models.ForeignKey(Treatment, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
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
        ]

    def __str__(self) -> str:
        return f"Freed time #{self.pk}"


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
