"""Account operations: every write to a client's account goes through here."""

import datetime
import uuid
from collections.abc import Iterable

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments.models import ACCOUNT_KINDS, Appointment, Notice, PreSessionCheck, Therapist
from appointments.services import cancel_appointment
from appointments.services.holds import Cause, lock_client, rejudge_back_walking
from screening.models import HealthScreening
from spa_booking.written_once import Insert

from .models import (
    EARLIEST_DATE_OF_BIRTH,
    AccessRecord,
    Client,
    DateOfBirthCorrection,
    ErasureRequest,
    User,
)

_ACCESS_RECORDS = Insert(AccessRecord)

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


# The access audit, erasure and retention (docs/PRIVACY.md)

ERASED_TEXT = "(erased)"


def record_access(
    *,
    by: User,
    client_ids: Iterable[int],
    kind: str,
    address: str | None,
    now: datetime.datetime | None = None,
) -> None:
    """Record that `by` saw the health data of these clients: one row per client, all
    in one INSERT, however many appointments or screenings of theirs the page showed.

    One statement, so atomic by itself: no savepoint on every page view. A list of 100
    screenings writes 100 rows on each view: bulk_create's model instances cost that page
    about 7 ms on a slow machine, the statement itself 3."""
    record = AccessRecord(viewed_by=by, viewed_at=now or timezone.now(), kind=kind, address=address)
    _ACCESS_RECORDS.save_each(record, "client", sorted(set(client_ids)))


@transaction.atomic
def request_erasure(*, client: Client, now: datetime.datetime | None = None) -> ErasureRequest:
    """A client asks the spa to erase their data; staff carry it out or refuse it."""
    if client.is_erased:
        raise AccountError("This client's data is already erased.")
    try:
        with transaction.atomic():
            return ErasureRequest.objects.create(client=client, requested_at=now or timezone.now())
    except IntegrityError:
        # clients_erasurerequest_one_open_per_client: a second click, or two tabs.
        raise AccountError(
            "You have already asked us to delete your data; our staff are dealing with it."
        ) from None


@transaction.atomic
def refuse_erasure(
    *,
    erasure_request: ErasureRequest,
    by: User,
    reason: str,
    now: datetime.datetime | None = None,
) -> ErasureRequest:
    """Staff refuse an erasure request, saying why (for example, records the spa must keep
    for a period); the client sees the reason on their account page."""
    reason = reason.strip()
    if not reason:
        raise AccountError("Say why the erasure is refused: the client sees this reason.")
    locked = ErasureRequest.objects.select_for_update().get(pk=erasure_request.pk)
    if not locked.is_open:
        raise AccountError("This erasure request is already decided.")
    locked.state = ErasureRequest.State.REFUSED
    locked.refusal_reason = reason
    locked.decided_by = by
    locked.decided_at = now or timezone.now()
    locked.save(update_fields=["state", "refusal_reason", "decided_by", "decided_at"])
    return locked


@transaction.atomic
def erase_client(
    *, client: Client, by: User, now: datetime.datetime | None = None
) -> ErasureRequest:
    """Erase a person: cancel their upcoming appointments, delete their health records,
    scrub their name, contact details, date of birth and login. The appointment rows
    stay, anonymous, so the spa's history and counts stay whole (docs/PRIVACY.md says
    what is kept and why). Carries out the client's open erasure request, or records
    one as carried out."""
    now = now or timezone.now()
    # The client's lock first, like every change to a client's bookings: nothing of
    # theirs is booked, moved or screened while they are erased.
    lock_client(client.pk)
    client = Client.objects.select_related("user").get(pk=client.pk)
    user = client.user
    if client.is_erased:
        raise AccountError("This client's data is already erased.")
    if user.is_staff or Therapist.objects.filter(user=user).exists():
        raise AccountError(
            "This client also logs in as staff or as a therapist. Take that access away "
            "first, then erase the client."
        )
    # An erased person cannot come: the spa cancels what is still to happen.
    upcoming = client.appointments.filter(
        status=Appointment.Status.CONFIRMED, starts_at__gte=now
    ).order_by("pk")
    for appointment in upcoming:
        cancel_appointment(appointment=appointment, by_staff=True, now=now)
    _scrub_health_records(client=client, now=now)
    # Nor can they be emailed: whatever is still owed is skipped, and the mail
    # errors (which can quote the address) are scrubbed.
    notices = Notice.objects.filter(appointment__client=client)
    notices.unsettled().update(skipped_at=now)
    notices.exclude(last_error="").update(
        last_error=Case(When(given_up_at__isnull=False, then=Value(ERASED_TEXT)), default=Value(""))
    )
    old_email = user.email
    client.full_name = f"Erased client #{client.pk}"
    client.phone = ""
    # The earliest date the constraint allows: the person's age is no longer known.
    client.date_of_birth = EARLIEST_DATE_OF_BIRTH
    client.erased_at = now
    client.save(update_fields=["full_name", "phone", "date_of_birth", "erased_at"])
    client.date_of_birth_corrections.all().delete()
    # A unique address that can never receive mail (.invalid is reserved, RFC 2606),
    # no password, and no login: their sessions end on their next request.
    user.email = f"erased-{user.pk}@invalid"
    user.set_unusable_password()
    user.is_active = False
    user.save(update_fields=["email", "password", "is_active"])
    for attempts in (AccessAttempt, AccessFailureLog, AccessLog):
        attempts.objects.filter(username=old_email).delete()
    # The admin's history names the objects it changed: name them as they are now.
    for obj in (client, user):
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        ).update(object_repr=str(obj)[:200])
    erasure_request = (
        ErasureRequest.objects.select_for_update()
        .filter(client=client, state=ErasureRequest.State.REQUESTED)
        .first()
    ) or ErasureRequest(client=client, requested_at=now)
    erasure_request.state = ErasureRequest.State.CARRIED_OUT
    erasure_request.decided_by = by
    erasure_request.decided_at = now
    erasure_request.save()
    return erasure_request


def _scrub_health_records(*, client: Client, now: datetime.datetime) -> None:
    """Delete the client's health screenings (answers, signatures, reasons, notes and
    every decision on them) and blank the health text kept on their appointments: the
    therapist's reason for stopping a session and cancellation reasons. The client's
    lock is held."""
    # Screenings are never deleted (screening migration 0007), except for the client
    # named here, in this transaction only (set_config(..., true) is SET LOCAL).
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('spa.erasing_client', %s, true)", [str(client.pk)])
    # A held booking waits for a screening review; with no screening, nothing is waited for.
    held = client.appointments.filter(status=Appointment.Status.PENDING_REVIEW).order_by("pk")
    for appointment in held:
        cancel_appointment(appointment=appointment, by_staff=True, now=now)
        Notice.objects.filter(appointment=appointment).unsettled().update(skipped_at=now)
    Appointment.objects.filter(client=client).update(
        screening=None, cancellation_reason="", needs_follow_up=False
    )
    # A stopped session keeps that it was stopped (its constraint wants a reason), not
    # why. Plain values, not expressions: the reason may be encrypted at rest, and only
    # a value passes through the field.
    checks = PreSessionCheck.objects.filter(appointment__client=client).exclude(reason="")
    checks.filter(outcome=PreSessionCheck.Outcome.STOPPED).update(reason=ERASED_TEXT)
    checks.exclude(outcome=PreSessionCheck.Outcome.STOPPED).update(reason="")
    HealthScreening.objects.filter(client=client).delete()


def health_record_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Health records untouched since before this moment are due for purging:
    SPA_HEALTH_RECORD_RETENTION_YEARS ago (29 February counts from 28 February)."""
    now = timezone.localtime(now or timezone.now())
    year = now.year - settings.SPA_HEALTH_RECORD_RETENTION_YEARS
    try:
        return now.replace(year=year)
    except ValueError:
        return now.replace(year=year, day=28)


@transaction.atomic
def purge_health_records(*, client: Client, now: datetime.datetime | None = None) -> bool:
    """Purge the client's health records once the retention period has passed since
    their last appointment and last screening (docs/PRIVACY.md). Their account stays.
    False when there is nothing to purge (any more): running it again does nothing."""
    now = now or timezone.now()
    lock_client(client.pk)
    due = Client.objects.filter(pk=client.pk).health_records_due_for_purge(
        health_record_cutoff(now)
    )
    if not due.exists():
        return False
    _scrub_health_records(client=client, now=now)
    return True


# Clients the front desk adds (a caller without an online account)

# The login of a client added without an email address: User.email is the login and
# unique, so such a client gets an address nobody can receive mail at (.invalid is
# reserved, RFC 2606) and nobody can guess. It is never shown (clients.invitations.has_email)
# and never emailed (the outbox skips it); staff add a real address in the admin later.
# Erased clients' logins end the same way (erase_client).
NO_MAIL_DOMAIN = "@invalid"
NO_EMAIL_LOGIN = "phone-{key}" + NO_MAIL_DOMAIN


def has_email(user: User) -> bool:
    """Whether the account's login is an address that receives mail."""
    return not user.email.endswith(NO_MAIL_DOMAIN)


@transaction.atomic
def add_client_by_staff(
    *,
    full_name: str,
    phone: str,
    date_of_birth: datetime.date,
    email: str = "",
    by: User,
) -> Client:
    """The front desk adds a caller as a client, with no password.

    With an email address they are invited to set a password (an email from the outbox),
    and can then book online; without one they have no login at all until staff add an
    address. `by` is the member of staff adding them.
    """
    if not by.is_staff:
        raise AccountError("Only staff add clients; clients sign up themselves.")
    full_name = " ".join(full_name.split())
    if not full_name:
        raise AccountError("Enter the client's full name.")
    _check_date_of_birth(date_of_birth)
    email = User.objects.normalize_email(email)
    login = email or NO_EMAIL_LOGIN.format(key=uuid.uuid4().hex)
    try:
        # A savepoint: an address taken meanwhile leaves the transaction usable.
        with transaction.atomic():
            user = User.objects.create_user(login, password=None)  # unusable password
    except IntegrityError:
        raise AccountError(
            "A client with this email address already exists: find them by their email."
        ) from None
    client = Client.objects.create(
        user=user, full_name=full_name, phone=phone, date_of_birth=date_of_birth
    )
    if email:
        Notice.objects.create(user=user, kind=Notice.Kind.INVITATION, revision=0)
    return client


@transaction.atomic
def invite_client(*, client: Client, by: User) -> bool:
    """Email the client the link to set a password (or, with a password, to log in) and
    fill in their health screening. False when an invitation is already on its way."""
    if not by.is_staff:
        raise AccountError("Only staff send invitations.")
    user = User.objects.select_for_update().get(pk=client.user_id)
    if not has_email(user):
        raise AccountError(
            "This client has no email address on file. Add one to their account in the "
            "admin first, or give them the spa's web address on the phone."
        )
    if not user.is_active:
        raise AccountError("This client's account is closed.")
    waiting = Notice.objects.filter(user=user, kind=Notice.Kind.INVITATION).unsettled()
    if waiting.exists():
        return False
    Notice.objects.create(user=user, kind=Notice.Kind.INVITATION, revision=0)
    return True
