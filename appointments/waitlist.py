"""The waitlist: clients waiting for a treatment on a day or a range of days, and the times
that come free offered to them.

How a freed time reaches the people waiting (README, "The waitlist"):

1. A cancellation or a move (services.changes, so also a hold released and a booking the
   back-walking gate cancels) calls `time_freed` in its own transaction. Only when someone
   waits on that day does it write a FreedTime: one SELECT on an index otherwise, so the
   cancellation never waits for the matching, and a rolled-back one frees nothing.
2. The send_notices worker calls `offer_freed_times` before each pass. Each freed time is
   claimed once (skip_locked, so several workers are fine) and offered, in one
   transaction, to every entry still waiting on its day for which a slot of the entry's
   own treatment (with its therapist, when it asked for one) starts at that time and is
   free for the client: a cancelled 90-minute massage can fit a 60-minute one, and a
   treatment that needs a room with bars may not fit at all. Each offer is a
   WaitlistOffer and its email (a Notice), written in the order the entries joined.
3. Everyone offered a time is emailed at once, in order of joining. An offer holds
   nothing: the link opens the normal confirm page, and the first to book has the time
   (PostgreSQL's exclusion constraints see to that); the others read kindly that it was
   taken, with the day's other free times. An email whose offer is no longer open when it
   leaves (taken, expired, the wait ended, the gate closed) is skipped.

The back-walking gate applies as in any online booking: joining asks what the client's
age and screening already say (back_walking_outlook), no offer goes to a client who could
not book it, and the booking itself passes the confirm step and the gate.
"""

import datetime
import enum
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from screening.eligibility import back_walking_outlook

from . import free_times
from .availability import Slot
from .models import (
    WAITLIST_ACTIVE,
    Appointment,
    FreedTime,
    Notice,
    Qualification,
    Therapist,
    Treatment,
    WaitlistEntry,
    WaitlistOffer,
)
from .services.errors import BookingError
from .services.gate import day_of

logger = logging.getLogger(__name__)

# How long the link in an offer's email works (never past the last moment the time can be
# booked online). The time is not held meanwhile: this only keeps old links from working.
OFFER_VALID = datetime.timedelta(hours=24)

NO_OVERLAPPING_WAIT = "appointments_waitlistentry_no_overlapping_wait"


class OfferStatus(enum.StrEnum):
    OPEN = "open"  # free for the client: book it
    EXPIRED = "expired"  # the link's time ran out
    ENDED = "ended"  # the wait ended: booked, left, or its last day passed
    TAKEN = "taken"  # not free any more (someone booked it, or the spa changed the day)
    NOT_FOR_YOU = "not_for_you"  # back-walking the client cannot book online now


def _long(day: datetime.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def days_phrase(entry: WaitlistEntry) -> str:
    """'Wednesday 2 December' or 'Wednesday 2 December to Friday 4 December'."""
    if entry.first_day == entry.last_day:
        return _long(entry.first_day)
    return f"{_long(entry.first_day)} to {_long(entry.last_day)}"


def open_days(*, by_staff: bool, now: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The days one can wait for: those that can still be booked (staff: from today)."""
    first, last = free_times.bookable_days(now)
    return (timezone.localdate(now) if by_staff else first), last


def _back_walking_refusal(
    client: Client, treatment: Treatment, day: datetime.date, now: datetime.datetime
) -> str | None:
    """Why the client cannot book this back-walking treatment on `day` online, as the
    treatment page already tells them (age first, then their current screening)."""
    if not treatment.is_back_walking:
        return None
    outlook = back_walking_outlook(client=client, today=timezone.localdate(now))
    if not outlook.bookable:
        return outlook.message
    if outlook.first_day is not None and day < outlook.first_day:
        return outlook.message
    return None


# -- joining and leaving ---------------------------------------------------------------------


@transaction.atomic
def join_waitlist(
    *,
    client: Client,
    treatment: Treatment,
    first_day: datetime.date,
    last_day: datetime.date,
    therapist: Therapist | None = None,
    created_by=None,
    now: datetime.datetime | None = None,
) -> WaitlistEntry:
    """Put `client` on the waitlist for `treatment` from first_day to last_day (inclusive),
    with `therapist` or any. `created_by`: the staff member adding a caller."""
    now = now or timezone.now()
    if not treatment.is_active:
        raise BookingError("This treatment cannot be booked online at the moment.")
    if last_day < first_day:
        raise BookingError("The last day cannot be before the first day.")
    earliest, latest = open_days(by_staff=created_by is not None, now=now)
    if first_day < earliest or last_day > latest:
        raise BookingError(
            f"You can wait for days from {_long(earliest)} to {_long(latest)} {latest:%Y}."
        )
    if therapist is not None and not _gives(therapist, treatment):
        raise BookingError(
            f"{therapist.display_name} does not give {treatment.name}. Pick another therapist, "
            "or any."
        )
    refusal = _back_walking_refusal(client, treatment, first_day, now)
    if refusal:
        raise BookingError(refusal)
    already = WaitlistEntry.objects.active().filter(
        client=client, treatment=treatment, first_day__lte=last_day, last_day__gte=first_day
    )
    if already.exists():
        raise _already_waiting(treatment)
    try:
        # A savepoint: the same form sent twice at once meets the exclusion constraint.
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                client=client,
                treatment=treatment,
                therapist=therapist,
                first_day=first_day,
                last_day=last_day,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as error:
        diagnostics = getattr(error.__cause__, "diag", None)
        if getattr(diagnostics, "constraint_name", None) == NO_OVERLAPPING_WAIT:
            raise _already_waiting(treatment) from error
        raise


def _gives(therapist: Therapist, treatment: Treatment) -> bool:
    return (
        therapist.is_active
        and Qualification.objects.filter(therapist=therapist, treatment=treatment).exists()
    )


def _already_waiting(treatment: Treatment) -> BookingError:
    return BookingError(
        f"You are already on the waitlist for {treatment.name} on some of these days. Leave "
        "that wait in My appointments first to change it."
    )


@transaction.atomic
def leave_waitlist(*, entry: WaitlistEntry, now: datetime.datetime | None = None) -> WaitlistEntry:
    """The client no longer waits: no more emails about it."""
    locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if not locked.is_active:
        raise BookingError("You are not on this waitlist any more.")
    locked.state = WaitlistEntry.State.WITHDRAWN
    locked.updated_at = now or timezone.now()
    locked.save(update_fields=["state", "updated_at"])
    return locked


def settle_booking(*, appointment: Appointment, now: datetime.datetime | None = None) -> int:
    """The client booked a treatment they waited for on that day: the wait ends (one UPDATE).

    Called by every booking (online, front desk, admin), in its transaction
    (services.booking._insert)."""
    day = day_of(appointment.starts_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _SETTLE_SQL,
            {
                "booked": WaitlistEntry.State.BOOKED,
                "appointment": appointment.pk,
                "now": now or timezone.now(),
                "client": appointment.client_id,
                "treatment": appointment.treatment_id,
                "waiting": list(WAITLIST_ACTIVE),
                "day": day,
            },
        )
        return cursor.rowcount


# WaitlistEntry.objects.waiting_on(day).filter(client, treatment).update(...), in SQL: it
# runs on every booking, where Django took three times as long to build it as PostgreSQL
# to run it (usually on no rows). A test holds it to waiting_on's rows.
_SETTLE_SQL = """
UPDATE appointments_waitlistentry
SET state = %(booked)s, appointment_id = %(appointment)s, updated_at = %(now)s
WHERE client_id = %(client)s AND treatment_id = %(treatment)s
  AND state = ANY(%(waiting)s) AND first_day <= %(day)s AND last_day >= %(day)s
"""


# -- a time comes free -----------------------------------------------------------------------


def time_freed(*, appointment: Appointment, now: datetime.datetime) -> None:
    """In the transaction of a cancellation, or of a move before it changes the appointment:
    its time is free once that commits. Recorded for the worker only when someone waits on
    its day."""
    if appointment.starts_at <= now:
        return
    if WaitlistEntry.objects.waiting_on(day_of(appointment.starts_at)).exists():
        FreedTime.objects.create(
            appointment=appointment,
            therapist_id=appointment.therapist_id,
            starts_at=appointment.starts_at,
            created_at=now,
        )


def offer_freed_times(*, now: datetime.datetime | None = None) -> int:
    """Offer every freed time not yet offered to the people waiting; returns the offers made.

    Runs in the send_notices worker, before it sends, so the offers leave in the same pass.
    Safe to run in several workers at once: each freed time is claimed by one.
    """
    now = now or timezone.now()
    _expire_passed(now)
    made = 0
    while True:
        with transaction.atomic():
            freed = (
                FreedTime.objects.filter(handled_at=None)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .first()
            )
            if freed is None:
                return made
            try:
                with transaction.atomic():
                    made += _offer(freed, now)
            except Exception:
                # This runs in the email sender: one freed time that cannot be offered must
                # not stop every email. Logged for a person; the ids only.
                logger.exception("Offering freed time %s to the waitlist failed.", freed.pk)
            freed.handled_at = now
            freed.save(update_fields=["handled_at"])


def _expire_passed(now: datetime.datetime) -> None:
    """Waits whose last day has passed end as expired."""
    with transaction.atomic():
        passed = list(
            WaitlistEntry.objects.active()
            .filter(last_day__lt=timezone.localdate(now))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if passed:
            WaitlistEntry.objects.filter(pk__in=passed).update(
                state=WaitlistEntry.State.EXPIRED, updated_at=now
            )


def _offer(freed: FreedTime, now: datetime.datetime) -> int:
    day = day_of(freed.starts_at)
    gave_it_up = Appointment.objects.filter(pk=freed.appointment_id).values("client_id")
    entries = list(
        WaitlistEntry.objects.waiting_on(day)
        .filter(Q(therapist__isnull=True) | Q(therapist_id=freed.therapist_id))
        .exclude(client_id__in=gave_it_up)  # not the time they just gave up
        .filter(client__erased_at__isnull=True)
        .select_related("client", "treatment")
        # Locked in one order: two workers offering two times on one day queue here, and
        # the second sees the first one's offers.
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    offers = []
    for entry in sorted(entries, key=lambda entry: (entry.created_at, entry.pk)):
        booked = _booking_of(entry)
        if booked is not None:
            _end_as_booked(entry, booked, now)
            continue
        if entry.offers.filter(starts_at=freed.starts_at, expires_at__gt=now).exists():
            continue  # offered this very time already, and the link still works
        expires = min(now + OFFER_VALID, _last_online_moment(freed.starts_at))
        if expires <= now or _status(entry, freed.starts_at, now) != OfferStatus.OPEN:
            continue
        offers.append(
            WaitlistOffer(
                entry=entry, starts_at=freed.starts_at, created_at=now, expires_at=expires
            )
        )
    WaitlistOffer.objects.bulk_create(offers)  # in order of joining, and so are the emails
    Notice.objects.bulk_create(
        Notice(
            kind=Notice.Kind.WAITLIST_OFFER,
            waitlist_offer=offer,
            revision=0,
            created_at=now,
            next_attempt_at=now,
        )
        for offer in offers
    )
    return len(offers)


def _last_online_moment(start: datetime.datetime) -> datetime.datetime:
    return start - datetime.timedelta(hours=settings.SPA_MINIMUM_NOTICE_HOURS)


def _booking_of(entry: WaitlistEntry) -> Appointment | None:
    """The client's booking of the treatment on one of the entry's days, made anywhere."""
    start, _ = free_times.local_days(entry.first_day)
    _, end = free_times.local_days(entry.last_day)
    return (
        Appointment.objects.active()
        .filter(
            client_id=entry.client_id,
            treatment_id=entry.treatment_id,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .order_by("starts_at")
        .first()
    )


def _end_as_booked(entry: WaitlistEntry, appointment: Appointment, now: datetime.datetime) -> None:
    entry.state = WaitlistEntry.State.BOOKED
    entry.appointment = appointment
    entry.updated_at = now
    entry.save(update_fields=["state", "appointment", "updated_at"])


# -- an offer --------------------------------------------------------------------------------


def _status(entry: WaitlistEntry, start: datetime.datetime, now: datetime.datetime) -> OfferStatus:
    day = day_of(start)
    if not entry.is_active or entry.last_day < timezone.localdate(now):
        return OfferStatus.ENDED
    if _back_walking_refusal(entry.client, entry.treatment, day, now):
        return OfferStatus.NOT_FOR_YOU
    free = entry.treatment.is_active and bool(
        free_times.slots_at(
            treatment=entry.treatment,
            start=start,
            therapist_id=entry.therapist_id,
            client_id=entry.client_id,
            now=now,
        )
    )
    return OfferStatus.OPEN if free else OfferStatus.TAKEN


def offer_status(offer: WaitlistOffer, now: datetime.datetime | None = None) -> OfferStatus:
    """Whether the offer's time can still be booked from its link, by its client."""
    now = now or timezone.now()
    if offer.expires_at <= now:
        return OfferStatus.EXPIRED
    return _status(offer.entry, offer.starts_at, now)


def free_times_of(
    entry: WaitlistEntry, day: datetime.date, *, now: datetime.datetime | None = None
) -> list[Slot]:
    """The free times of the entry's treatment on `day`, each start once (with its first
    free therapist), with its therapist or any, for its client (online rules: minimum
    notice, horizon)."""
    return free_times.free_starts(
        treatment=entry.treatment,
        first_day=day,
        last_day=day,
        therapist_id=entry.therapist_id,
        client_id=entry.client_id,
        now=now,
    )


def _offer_of(notice: Notice) -> WaitlistOffer:
    return WaitlistOffer.objects.select_related(
        "entry__client__user", "entry__treatment", "entry__therapist"
    ).get(pk=notice.waitlist_offer_id)


def offer_is_old_news(notice: Notice, now: datetime.datetime) -> bool:
    """At send time: the offer can no longer be booked, so its email would only disappoint."""
    return offer_status(_offer_of(notice), now) != OfferStatus.OPEN


def send_offer(notice: Notice) -> None:
    """The email of a waitlist offer: the time, and the link that books it. No health data:
    the treatment, the time, the therapist asked for."""
    # Imported here: appointments.notifications imports this module for its sender.
    from .notifications import notice_message_id

    offer = _offer_of(notice)
    entry = offer.entry
    if entry.state == WaitlistEntry.State.WAITING:
        entry.state = WaitlistEntry.State.OFFERED
        entry.updated_at = timezone.now()
        entry.save(update_fields=["state", "updated_at"])
    start = timezone.localtime(offer.starts_at)
    context = {
        "client": entry.client,
        "entry": entry,
        "treatment": entry.treatment,
        "therapist": entry.therapist,
        "starts_at": start,
        "expires_at": timezone.localtime(offer.expires_at),
        "days": days_phrase(entry),
        "link": settings.SPA_SITE_URL + reverse("appointments:waitlist_offer", args=[offer.token]),
        "my_appointments": settings.SPA_SITE_URL + reverse("appointments:mine"),
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
    }
    EmailMultiAlternatives(
        subject=f"A time came free: {entry.treatment.name} on {start:%A} {start.day} "
        f"{start:%B} at {start:%H:%M}",
        body=render_to_string("appointments/waitlist/offer_email.txt", context),
        to=[entry.client.user.email],
        headers={"Message-ID": notice_message_id(notice)},
    ).send()


# -- for staff -------------------------------------------------------------------------------


def staff_day_url(day: datetime.date) -> str:
    """The admin's list of everyone waiting on `day`: for the front desk's day book to link."""
    return f"{reverse('admin:appointments_waitlistentry_changelist')}?day={day.isoformat()}"
