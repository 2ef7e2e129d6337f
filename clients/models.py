import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

EARLIEST_DATE_OF_BIRTH = datetime.date(1900, 1, 1)

phone_validator = RegexValidator(
    regex=r"^\+?[0-9 ()\-]{7,20}$",
    message="Enter a phone number like 07700 900123 or +44 7700 900123.",
)


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

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
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
