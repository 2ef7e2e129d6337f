import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, F, Func, OuterRef, Subquery, Value
from django.db.models.functions import Greatest, Lower, Upper
from django.utils import timezone

EARLIEST_DATE_OF_BIRTH = datetime.date(1900, 1, 1)

phone_validator = RegexValidator(
    regex=r"^\+?[0-9 ()\-]{7,20}$",
    message="Enter a phone number like 07700 900123 or +44 7700 900123.",
)


class Digits(Func):
    """Only the digits of a text: "07700 900123" and "07700-900-123" match alike."""

    function = "regexp_replace"

    def __init__(self, expression) -> None:
        super().__init__(expression, Value(r"\D"), Value(""), Value("g"))


def trigram_index(expression, name: str) -> GinIndex:
    """An index that answers `LIKE '%word%'` on the expression (pg_trgm). Django's
    `icontains` compares UPPER(column): an index on the column alone would not serve it."""
    return GinIndex(OpClass(expression, name="gin_trgm_ops"), name=name)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def normalize_email(self, email: str | None) -> str:
        # One address, one account: "Ana@Example.com" and "ana@example.com"
        # are the same person to a spa.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account that logs in with its email address: a client, a therapist or staff."""

    email = models.EmailField(
        "email address",
        max_length=254,
        unique=True,
        error_messages={"unique": "An account with this email address already exists."},
    )
    is_staff = models.BooleanField(
        "staff status",
        default=False,
        help_text="Can log in to the spa's admin.",
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        indexes = [
            # Staff search accounts and clients by any part of an email address (the
            # admin's search, the front desk's "find a client").
            trigram_index(Upper("email"), "user_email_trgm_idx"),
            # The admin's list of staff accounts (a few among every client's login).
            models.Index(
                fields=["email"], condition=models.Q(is_staff=True), name="user_staff_idx"
            ),
            # ...and of the other few: superusers, and accounts switched off.
            models.Index(
                fields=["email"],
                condition=models.Q(is_superuser=True),
                name="user_superuser_idx",
            ),
            models.Index(
                fields=["email"], condition=models.Q(is_active=False), name="user_inactive_idx"
            ),
        ]
        constraints = [
            # Stored in lower case, so the unique index on email is also
            # case-insensitive: "Ana@X.com" cannot sign up beside "ana@x.com".
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="clients_user_email_lowercase",
                violation_error_message="The email address must be stored in lower case.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = User.objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        client = getattr(self, "client", None)
        return client.full_name if client else self.email

    def get_short_name(self) -> str:
        return self.get_full_name().split(" ")[0]


class ClientQuerySet(models.QuerySet["Client"]):
    def of(self, user) -> "Client | None":
        """The client profile of `user`; None for a guest, staff or a therapist."""
        if not user.is_authenticated:
            return None
        if User.client.is_cached(user):  # loaded with the user (clients.backends)
            return getattr(user, "client", None)
        return self.filter(user=user).first()

    def health_records_due_for_purge(self, cutoff: datetime.datetime) -> "ClientQuerySet":
        """Clients the spa still holds health records of, whose last appointment and last
        screening both started or were submitted before `cutoff` (the retention period,
        see docs/PRIVACY.md). A client with no appointment counts from their last
        screening: without an appointment, a screening is the only health record.

        Health records: screenings (with their answers, decisions and notes), and
        cancellation reasons (the gate's reasons say what a screening decided). A
        therapist's reason for stopping a session is purged with them; it needs no test
        of its own, since back-walking is never booked without a screening (and after a
        purge the reason reads "(erased)", so testing it would purge again and again)."""
        # Imported here: appointments and screening both point at clients.
        from appointments.models import Appointment
        from screening.models import HealthScreening

        appointments = Appointment.objects.filter(client=OuterRef("pk"))
        screenings = HealthScreening.objects.filter(client=OuterRef("pk"))
        last_appointment = appointments.order_by("-starts_at").values("starts_at")[:1]
        last_screening = screenings.order_by("-submitted_at").values("submitted_at")[:1]
        # Only a client with a health record from before the cutoff can be due. Found
        # through the indexes on those dates (screening_submitted_idx,
        # appointment_reason_start_idx), instead of judging every client the spa ever had
        # each day; the purge deletes or blanks those records, so few are left to find.
        from_before = (
            HealthScreening.objects.filter(submitted_at__lt=cutoff)
            .order_by()
            .values("client_id")
            .union(
                Appointment.objects.filter(starts_at__lt=cutoff)
                .exclude(cancellation_reason="")
                .order_by()
                .values("client_id")
            )
        )
        return (
            self.filter(pk__in=from_before)
            .annotate(
                # PostgreSQL's GREATEST skips NULLs: no appointment, or no screening.
                last_health_activity=Greatest(Subquery(last_appointment), Subquery(last_screening))
            )
            .filter(last_health_activity__lt=cutoff)
            .filter(Exists(screenings) | Exists(appointments.exclude(cancellation_reason="")))
        )


class Client(models.Model):
    """The person who books: their name, how to reach them and their date of birth.

    The date of birth decides the back-walking age check, so a client gives it
    once at sign-up and only staff can correct it (see DateOfBirthCorrection).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client"
    )
    full_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=32, validators=[phone_validator])
    date_of_birth = models.DateField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set when the person is erased (clients.services.erase_client): the row stays,
    # scrubbed, so the spa's appointment history keeps its counts.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        indexes = [
            # The client list in the admin, by name.
            models.Index(fields=["full_name"], name="client_name_idx"),
            # Finding a client (admin search, front desk, autocomplete): any part of the
            # name or phone number as typed, the phone's digits alone, the date of birth.
            trigram_index(Upper("full_name"), "client_name_trgm_idx"),
            trigram_index(Upper("phone"), "client_phone_trgm_idx"),
            trigram_index(Digits(F("phone")), "client_phone_digits_trgm_idx"),
            models.Index(fields=["date_of_birth"], name="client_birth_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_of_birth__gte=EARLIEST_DATE_OF_BIRTH),
                name="clients_client_date_of_birth_after_1900",
                violation_error_message="The date of birth must be in 1900 or later.",
            ),
            models.CheckConstraint(
                condition=~models.Q(full_name=""),
                name="clients_client_full_name_not_blank",
                violation_error_message="The full name cannot be blank.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ")[0]

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class DateOfBirthCorrection(models.Model):
    """A record of staff correcting a client's date of birth: who, when, from what to what."""

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="date_of_birth_corrections"
    )
    old_date_of_birth = models.DateField()
    new_date_of_birth = models.DateField()
    reason = models.TextField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
    )
    corrected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-corrected_at"]
        get_latest_by = "corrected_at"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(old_date_of_birth=models.F("new_date_of_birth")),
                name="clients_dateofbirthcorrection_changes_the_date",
                violation_error_message="A correction must change the date of birth.",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=""),
                name="clients_dateofbirthcorrection_reason_given",
                violation_error_message="Say why the date of birth is corrected.",
            ),
        ]

    def __str__(self) -> str:
        return f"Date of birth correction #{self.pk}"


class SecondFactorReset(models.Model):
    """A superuser removed a staff member's second factor (a lost phone): whose, who, when.

    The person sets up a new authenticator app at their next sign-in. Append-only: the
    admin only lists these, and PostgreSQL refuses to change or delete a row.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="second_factor_resets"
    )
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reset_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reset_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user=models.F("reset_by")),
                name="clients_secondfactorreset_not_own",
                violation_error_message="Another superuser has to reset your own second factor.",
            ),
        ]

    def __str__(self) -> str:
        return f"Second factor reset #{self.pk}"


class AccessRecord(models.Model):
    """One look at a client's health data: who, when, whose, what and from where.

    Append-only: the admin only lists them, and PostgreSQL refuses to change or
    delete a row (migration 0002_access_audit_and_erasure). Erasing a client keeps
    their records: they point at the scrubbed client row, so they still say which
    member of staff looked, but no longer whose data it was.
    """

    class Kind(models.TextChoices):
        SCREENING_ANSWERS = "screening_answers", "screening answers"
        SCREENING_LIST = "screening_list", "screening in a list (outcome and reasons)"
        SCHEDULE = "schedule_summary", "health summary on schedule"
        EXPORT = "export", "export"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="access_records")
    viewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    viewed_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Where the request came from (spa_booking.client_address).
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-viewed_at", "-pk"]
        indexes = [
            # "Who saw this client's data", newest first: the client's admin page and export.
            models.Index(fields=["client", "-viewed_at"], name="accessrecord_client_latest_idx"),
            # The admin's list of every record, newest first (and its date bar's first
            # and last), whole or by kind.
            models.Index(fields=["viewed_at", "id"], name="accessrecord_latest_idx"),
            models.Index(fields=["kind", "viewed_at"], name="accessrecord_kind_idx"),
            # The same by who looked (the admin's "viewed by" filter).
            models.Index(fields=["viewed_by", "viewed_at"], name="accessrecord_viewer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=["screening_answers", "screening_list", "schedule_summary", "export"]
                ),
                name="clients_accessrecord_known_kind",
                violation_error_message="Unknown kind of access.",
            ),
        ]

    def __str__(self) -> str:
        return f"Access record #{self.pk}"


class ErasureRequestState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    CARRIED_OUT = "carried_out", "Carried out"
    REFUSED = "refused", "Refused"


class ErasureRequest(models.Model):
    """A client asking the spa to erase their data, and what staff decided.

    Kept after the erasure (pointing at the scrubbed client row): the record that
    the request was carried out, by whom and when.
    """

    State = ErasureRequestState

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="erasure_requests")
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    refusal_reason = models.TextField(
        blank=True, help_text="Why the spa keeps the data; the client sees this."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [
            ("decide_erasurerequest", "Can carry out or refuse erasure requests"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ErasureRequestState.values),
                name="clients_erasurerequest_known_state",
                violation_error_message="Unknown state of an erasure request.",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    state="requested", decided_by__isnull=True, decided_at__isnull=True
                )
                | (
                    ~models.Q(state="requested")
                    & models.Q(decided_by__isnull=False, decided_at__isnull=False)
                ),
                name="clients_erasurerequest_decision_recorded",
                violation_error_message="A decided erasure request records who decided and when.",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="refused", refusal_reason=""),
                name="clients_erasurerequest_refusal_has_reason",
                violation_error_message="Say why the erasure is refused.",
            ),
            # A second click on "delete my data" finds the first request.
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(state="requested"),
                name="clients_erasurerequest_one_open_per_client",
                violation_error_message="This client already has an open erasure request.",
            ),
        ]

    def __str__(self) -> str:
        return f"Erasure request #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.REQUESTED
