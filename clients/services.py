"""Account operations: every write to a client's account goes through here."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.services.holds import Cause, lock_client, rejudge_back_walking

from .models import EARLIEST_DATE_OF_BIRTH, Client, DateOfBirthCorrection, User


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
) -> Client:
    """Create a login and the client profile that goes with it."""
    _check_date_of_birth(date_of_birth)
    email = User.objects.normalize_email(email)
    try:
        # A savepoint, so that losing a race to the same address leaves the
        # outer transaction usable and the caller gets a readable error.
        with transaction.atomic():
            user = User.objects.create_user(email, password)
    except IntegrityError:
        raise AccountError(
            "An account with this email address already exists. "
            "Log in, or reset your password if you have forgotten it."
        ) from None
    return Client.objects.create(
        user=user, full_name=full_name, phone=phone, date_of_birth=date_of_birth
    )


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
