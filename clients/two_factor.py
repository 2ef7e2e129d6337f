"""Staff sign in with a second factor: an authenticator app, or a one-time backup code.

Staff run the spa in the admin and therapists see their clients' health summaries, so a
password alone never opens their pages. django-otp keeps the devices (a TOTP device for
the app, a static device holding the backup codes) and marks a session verified
(`request.user.is_verified()`); clients.staff_sessions holds an unverified staff session on
the pages below until it is. Clients sign in with their password only.
"""

from base64 import b32encode

from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import SecondFactorReset, User

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_APP = "Authenticator app"
BACKUP_CODES = "Backup codes"


class TwoFactorError(Exception):
    """A second-factor step was refused; the message is for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def needs_second_factor(user) -> bool:
    """Staff (superusers included) and therapists: everyone who sees health data or the admin."""
    if not user.is_authenticated:
        return False
    # The therapist profile is loaded with the user (clients.backends), so no query.
    return user.is_staff or user.is_superuser or hasattr(user, "therapist")


def is_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def secret_key(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed in: base32, in groups of four."""
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _normalise(code: str) -> str:
    # People type backup codes with spaces, and phones capitalise the first letter.
    return "".join(code.split()).lower()


def _lock(user: User) -> None:
    # One enrolment at a time per person: two tabs must not make two secrets.
    User.objects.select_for_update().filter(pk=user.pk).first()


@transaction.atomic
def start_enrolment(*, user: User) -> TOTPDevice:
    """The authenticator app to set up; the same secret until it is confirmed."""
    _lock(user)
    if is_enrolled(user):
        raise TwoFactorError("Your authenticator app is already set up.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_APP, confirmed=False)
    return device


def _throttled(device: Device) -> bool:
    allowed, _ = device.verify_is_allowed()
    return not allowed


TOO_MANY = "Too many wrong codes in a row. Wait a minute, then try the newest code."


def confirm_enrolment(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """The first code from the app proves it is set up; then come the backup codes.

    Not one transaction from end to end: a wrong code must stay counted (django-otp
    slows down the next attempts), so it is committed before the refusal is raised.
    """
    with transaction.atomic():
        _lock(user)
        if is_enrolled(user):
            raise TwoFactorError("Your authenticator app is already set up.")
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise TwoFactorError("Start again: scan the new code below.")
        if _throttled(device):
            raise TwoFactorError(TOO_MANY)
        verified = device.verify_token(_normalise(code))
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            codes = _replace_backup_codes(user)
    if not verified:
        raise TwoFactorError(
            "That code is not right. Type the 6-digit code the app shows now "
            "(and check that the phone's clock is right)."
        )
    return device, codes


def _replace_backup_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": BACKUP_CODES, "confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def replace_backup_codes(*, user: User) -> list[str]:
    """New backup codes; the old ones stop working."""
    _lock(user)
    if not is_enrolled(user):
        raise TwoFactorError("Set up your authenticator app first.")
    return _replace_backup_codes(user)


def verify(*, user: User, code: str) -> Device:
    """The device that accepts the code: the app's 6 digits, or a backup code (used up).

    Like confirm_enrolment, a wrong code is committed before the refusal.
    """
    code = _normalise(code)
    app = len(code) == 6 and code.isdigit()
    model = TOTPDevice if app else StaticDevice
    with transaction.atomic():
        devices = list(
            model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        )
        if any(_throttled(device) for device in devices):
            raise TwoFactorError(TOO_MANY)
        accepted = next((device for device in devices if device.verify_token(code)), None)
    if accepted is None:
        raise TwoFactorError(
            "That code is not right. Type the 6-digit code your authenticator app shows "
            "now, or one of your backup codes."
        )
    return accepted


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def reset_second_factor(*, user: User, reset_by: User) -> SecondFactorReset:
    """A superuser removes someone's second factor (a lost phone); it is recorded.

    The person sets up a new authenticator app at their next sign-in; a session they
    verified with the old one is no longer verified.
    """
    if not reset_by.is_superuser:
        raise TwoFactorError("Only a superuser can reset a second factor.")
    if user.pk == reset_by.pk:
        raise TwoFactorError("Another superuser has to reset your own second factor.")
    _lock(user)
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += StaticDevice.objects.filter(user=user).delete()[0]
    if not removed:
        raise TwoFactorError(f"{user} has no second factor to reset.")
    return SecondFactorReset.objects.create(user=user, reset_by=reset_by)
