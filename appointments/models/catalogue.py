"""What the spa offers and who gives it: treatments, equipment, rooms, therapists,
their qualifications, working hours and time off."""

import datetime
import secrets
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    DateTimeRangeField,
    RangeOperators,
)
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone


class TsTzRange(models.Func):
    """PostgreSQL's tstzrange(from, to): half-open, [from, to)."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


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

    def offered_online(self, today: datetime.date | None = None) -> "TreatmentQuerySet":
        """Bookable, with a qualified therapist and a suitable room: the treatments the site
        offers. One without either would show an empty calendar."""
        return self.active().with_offer_gaps(today).filter(has_therapist=True, has_room=True)


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


class ListedTherapist(NamedTuple):
    """What a treatment's therapist picker and biographies show of a therapist."""

    pk: int
    display_name: str
    bio: str


class TherapistQuerySet(models.QuerySet["Therapist"]):
    def active(self) -> "TherapistQuerySet":
        return self.filter(is_active=True)

    def listed(self) -> list[ListedTherapist]:
        """The active therapists, by name, as the picker and the biographies list them: a
        chain's treatment has hundreds, and model instances of every column cost its
        pages about three times what these rows do."""
        rows = self.active().order_by("display_name", "pk").values_list("pk", "display_name", "bio")
        return [ListedTherapist(*row) for row in rows]


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


class TimeOffQuerySet(models.QuerySet["TimeOff"]):
    def overlapping(self, start: datetime.datetime, end: datetime.datetime) -> "TimeOffQuerySet":
        """The time off that overlaps [start, end), found by its span's index
        (timeoff_span_idx): the few that touch the window, never the years' holidays.
        appointments.free_times asks the same in SQL, with the same expression."""
        return self.alias(span=TsTzRange("starts_at", "ends_at")).filter(span__overlap=(start, end))


class TimeOff(models.Model):
    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    objects = TimeOffQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        indexes = [
            # Every search of free times, the day book and the schedules ask for the time
            # off overlapping a window (TimeOffQuerySet.overlapping): a few among the years'.
            GistIndex(TsTzRange("starts_at", "ends_at"), name="timeoff_span_idx"),
        ]
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
