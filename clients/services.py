"""Account operations: every write to a client's account goes through here."""

import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments.models import ACCOUNT_KINDS, Notice
from appointments.services.holds import Cause, lock_client, rejudge_back_walking

from .models import EARLIEST_DATE_OF_BIRTH, Client, DateOfBirthCorrection, User

# The window the rate limits of account emails count in (SPA_ACCOUNT_EMAILS_PER_HOUR...).
ACCOUNT_EMAIL_WINDOW = datetime.timedelta(hours=1)


class AccountError(Exception):
    """An account operation was refused; the message is for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check_date_of_birth(date_of_birth: datetime.date) -> None:
    if date_of_birth > timezone.localdate():
        raise AccountError("The date of birth must be in the past.")
    if date_of_birth < EARLIEST_DATE_OF_BIRTH:
        raise AccountError("The date of birth must be the same as or after 1 January 1900.")


@transaction.atomic
def register_client(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: str,
    date_of_birth: datetime.date,
    requested_from: str | None,
) -> None:
    """Sign someone up, without telling them whether the address already has an account.

    A new address gets an account that is not active yet, and an email with the link
    that finishes signing up (so the person shows the address is theirs). An address
    with an account gets an email saying so instead, never a second account; one still
    waiting for its link gets a new link. Either way the person is told to check their
    email, after the same work (the password is hashed either way): the sign-up form
    does not tell a stranger who has an account. `requested_from` is the visitor's
    address, for the rate limit of account emails.
    """
    _check_date_of_birth(date_of_birth)
    email = User.objects.normalize_email(email)
    existing = User.objects.filter(email=email).first()
    if existing is None:
        if _address_has_had_its_account_emails(requested_from):
            make_password(password)
            return
        try:
            # A savepoint: losing a race to the same address leaves the transaction usable.
            with transaction.atomic():
                user = User.objects.create_user(email, password, is_active=False)
        except IntegrityError:
            existing = User.objects.get(email=email)
        else:
            Client.objects.create(
                user=user, full_name=full_name, phone=phone, date_of_birth=date_of_birth
            )
            _owe_account_email(user=user, kind=Notice.Kind.SIGN_UP, requested_from=requested_from)
            return
    make_password(password)  # the time a new account takes
    if existing.is_active:
        kind = Notice.Kind.ACCOUNT_EXISTS
    elif existing.last_login is None:
        kind = Notice.Kind.SIGN_UP  # never finished signing up: a new link
    else:
        return  # closed by the spa: nothing to tell
    _owe_account_email(user=existing, kind=kind, requested_from=requested_from)


@transaction.atomic
def finish_sign_up(*, user: User) -> None:
    """The person opened the link in their sign-up email: the account is theirs, and active."""
    User.objects.filter(pk=user.pk, is_active=False).update(is_active=True)
    user.is_active = True


@transaction.atomic
def request_password_reset(*, email: str, requested_from: str | None) -> None:
    """Owe a password reset link to the account with this address, if there is one that may
    log in, within the rate limit of account emails. The caller says the same thing
    whatever happened here."""
    user = User.objects.filter(email=User.objects.normalize_email(email), is_active=True).first()
    if user is not None and user.has_usable_password():
        _owe_account_email(
            user=user, kind=Notice.Kind.PASSWORD_RESET, requested_from=requested_from
        )


def _owe_account_email(*, user: User, kind: str, requested_from: str | None) -> None:
    """Write an account email to the outbox, unless the account or the visitor's address has
    had as many as the rate limit allows in the last hour (then nothing: the person
    asking is told the same either way)."""
    # The account's row lock: two requests at once cannot both take its last email.
    User.objects.select_for_update().filter(pk=user.pk).first()
    recent = Notice.objects.filter(
        kind__in=ACCOUNT_KINDS, created_at__gte=timezone.now() - ACCOUNT_EMAIL_WINDOW
    )
    if recent.filter(user=user).count() >= settings.SPA_ACCOUNT_EMAILS_PER_HOUR:
        return
    if _address_has_had_its_account_emails(requested_from):
        return
    Notice.objects.create(
        user=user, kind=kind, revision=0, requested_from=_address_key(requested_from)
    )


def _address_has_had_its_account_emails(requested_from: str | None) -> bool:
    # Without the row lock of an account: two requests from one address at the very
    # same moment may both get the last email. A limit against floods, not an invariant.
    if requested_from is None:
        return False
    return (
        Notice.objects.filter(
            requested_from=_address_key(requested_from),
            created_at__gte=timezone.now() - ACCOUNT_EMAIL_WINDOW,
        ).count()
        >= settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR
    )


def _address_key(address: str | None) -> str:
    """A keyed hash of the visitor's address: it counts their requests, and does not say
    who they are."""
    if address is None:
        return ""
    return salted_hmac("clients.services.account_emails", address, algorithm="sha256").hexdigest()


@transaction.atomic
def update_contact_details(*, client: Client, full_name: str, phone: str) -> Client:
    """Change what a client may change themselves: never the date of birth."""
    Client.objects.filter(pk=client.pk).update(full_name=full_name, phone=phone)
    client.refresh_from_db(fields=["full_name", "phone"])
    return client


@transaction.atomic
def correct_date_of_birth(
    *,
    client: Client,
    new_date_of_birth: datetime.date,
    corrected_by: User,
    reason: str,
) -> DateOfBirthCorrection:
    """Staff correct a client's date of birth; the correction is kept on record.

    The age check is part of the back-walking gate, so in the same transaction the
    client's upcoming back-walking appointments are judged again on the new date.
    """
    if client.user_id == corrected_by.pk:
        raise AccountError("Another member of staff has to correct your own date of birth.")
    reason = reason.strip()
    if not reason:
        raise AccountError("Say why the date of birth is being corrected.")
    _check_date_of_birth(new_date_of_birth)
    # The client's lock (the one every change to the back-walking gate's inputs takes
    # first), so that two staff correcting at once record both changes against the
    # right old value, and no booking of the client slips in between.
    lock_client(client.pk)
    locked = Client.objects.get(pk=client.pk)
    if locked.date_of_birth == new_date_of_birth:
        raise AccountError("That is already the date of birth on record.")
    correction = DateOfBirthCorrection.objects.create(
        client=locked,
        old_date_of_birth=locked.date_of_birth,
        new_date_of_birth=new_date_of_birth,
        reason=reason,
        corrected_by=corrected_by,
    )
    locked.date_of_birth = new_date_of_birth
    locked.save(update_fields=["date_of_birth"])
    client.date_of_birth = new_date_of_birth
    rejudge_back_walking(client=locked, cause=Cause.DATE_OF_BIRTH)
    return correction
