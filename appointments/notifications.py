"""Emails about appointments and screening decisions, sent from the outbox after the change
is committed.

The booking and screening services only write a Notice in their transaction;
deliver_notices (the send_notices worker) emails it afterwards, outside any
request. So a slow or broken mail server never holds up or fails a booking or a
staff decision, and a failed email is tried again instead of lost.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone

from clients.invitations import send_invitation
from clients.models import User
from clients.notifications import send_account_exists, send_password_reset, send_sign_up_link
from clients.services import NO_MAIL_DOMAIN
from screening.models import ScreeningDecision
from screening.notifications import send_decision
from spa_booking.context_processors import spa_details

from . import waitlist
from .ics import appointment_attachment
from .models import Appointment, Notice
from .services.changes import can_change_online, change_rule_of

logger = logging.getLogger(__name__)

# How long to wait after the 1st, 2nd, 3rd and 4th failed attempt: a mail server
# that is down for a couple of hours still gets every email out. After the 5th
# attempt the sender gives up and logs an error for a person to look at.
RETRY_DELAYS = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def notice_message_id(notice: Notice) -> str:
    """The Message-ID of the notice's email, the same on every attempt and every sender.

    deliver_notices can send an email twice: when a sender dies (or its database
    fails) after the mail server took the email and before the commit. The copy
    carries the same Message-ID, so mail software can recognise and drop it. The
    configured domain, not the host's name: any app server may send the copy.
    """
    return f"<notice-{notice.pk}@{settings.SPA_CALENDAR_DOMAIN}>"


def _send(notice: Notice, template: str, subject: str, *, attach_calendar: bool) -> None:
    appointment = _appointment_of(notice)
    if appointment is not None:
        _email(notice, appointment, template, subject, attach_calendar=attach_calendar)


def _appointment_of(notice: Notice) -> Appointment | None:
    return Appointment.objects.with_details().filter(pk=notice.appointment_id).first()


def _email(
    notice: Notice,
    appointment: Appointment,
    template: str,
    subject: str,
    *,
    attach_calendar: bool,
    **context,
) -> None:
    # What the email says about changing the booking holds when it is read, which is
    # when it leaves (after a mail server outage, later than when it was owed).
    context |= {
        "subject": subject,
        "appointment": appointment,
        "client": appointment.client,
        "starts_at": timezone.localtime(appointment.starts_at),
        "change_rule": change_rule_of(appointment),
        "can_change": can_change_online(appointment),
        "site_url": settings.SPA_SITE_URL,
        "manage_url": settings.SPA_SITE_URL + reverse("appointments:detail", args=[appointment.pk]),
        **spa_details(),
    }
    # Plain text first, and the same in HTML for the mail apps that show it.
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"appointments/email/{template}.txt", context),
        to=[appointment.client.user.email],
        headers={"Message-ID": notice_message_id(notice)},
    )
    message.attach_alternative(
        render_to_string(f"appointments/email/{template}.html", context), "text/html"
    )
    if attach_calendar:
        message.attach(*appointment_attachment(appointment))
    message.send()


def when_phrase(starts_at: datetime.datetime, now: datetime.datetime) -> str:
    """'today at 21:00', 'tomorrow at 10:00' or 'on Friday 4 December at 10:00', in the
    spa's time zone, as seen at `now`."""
    start = timezone.localtime(starts_at)
    days = (start.date() - timezone.localtime(now).date()).days
    time = dateformat.format(start, "H:i")
    if days == 0:
        return f"today at {time}"
    if days == 1:
        return f"tomorrow at {time}"
    return f"on {dateformat.format(start, 'l j F')} at {time}"


def send_booking_confirmation(notice: Notice) -> None:
    _send(notice, "confirmation", f"Your booking at {settings.SPA_NAME}", attach_calendar=True)


def send_held_notice(notice: Notice) -> None:
    _send(
        notice,
        "held",
        f"Your booking at {settings.SPA_NAME} is held for a health review",
        attach_calendar=True,  # a TENTATIVE event until staff decide
    )


def send_cancellation_notice(notice: Notice) -> None:
    _send(
        notice,
        "cancellation",
        f"Your appointment at {settings.SPA_NAME} is cancelled",
        attach_calendar=True,
    )


def send_reschedule_notice(notice: Notice) -> None:
    _send(
        notice,
        "reschedule",
        f"Your appointment at {settings.SPA_NAME} has moved",
        attach_calendar=True,
    )


def send_reminder(notice: Notice) -> None:
    appointment = _appointment_of(notice)
    if appointment is None:
        return
    # "today" or "tomorrow" as the client reads it: when the email leaves, which
    # after a mail server outage is later than when the reminder was owed.
    when = when_phrase(appointment.starts_at, timezone.now())
    _email(
        notice,
        appointment,
        "reminder",
        f"Reminder: your appointment at {settings.SPA_NAME} {when}",
        attach_calendar=False,
        when=when,
    )


def _send_decision(notice: Notice) -> None:
    send_decision(notice.screening_id, headers={"Message-ID": notice_message_id(notice)})


@dataclass
class DeliveryReport:
    """What one pass of deliver_notices did."""

    sent: int = 0
    failed: int = 0  # the mail server refused; tried again later unless given up
    skipped: int = 0  # old news: superseded by later news, or a reminder no longer owed
    given_up: int = 0  # of the failed ones, those that reached MAX_ATTEMPTS

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.skipped


_SENDERS: dict[str, Callable[[Notice], None]] = {
    Notice.Kind.CONFIRMATION: send_booking_confirmation,
    Notice.Kind.PASSWORD_RESET: send_password_reset,
    Notice.Kind.SIGN_UP: send_sign_up_link,
    Notice.Kind.ACCOUNT_EXISTS: send_account_exists,
    Notice.Kind.INVITATION: send_invitation,
    Notice.Kind.HELD: send_held_notice,
    Notice.Kind.CANCELLATION: send_cancellation_notice,
    Notice.Kind.RESCHEDULE: send_reschedule_notice,
    Notice.Kind.REMINDER: send_reminder,
    Notice.Kind.DECISION: _send_decision,
    Notice.Kind.WAITLIST_OFFER: waitlist.send_offer,
}


def deliver_notices(
    *, limit: int | None = None, now: datetime.datetime | None = None
) -> DeliveryReport:
    """Email the notices that are due at `now` (at most `limit` of them), each once.

    Safe to run as often as you like, even several senders at once: each notice
    is claimed under a row lock that the other senders skip, emailed, and marked
    in the same transaction. The lock is the notice's row only, never the
    appointment's: no booking waits for the mail server. (Only if the sender dies
    or the database fails after the mail server took the email, before the
    commit, is that one email sent again later, with the same Message-ID.)
    """
    now = now or timezone.now()
    waitlist.offer_freed_times(now=now)  # times that came free: their offers go out below
    report = DeliveryReport()
    while limit is None or report.handled < limit:
        with transaction.atomic():
            notice = Notice.objects.due(now).select_for_update(skip_locked=True).first()
            if notice is None:
                break
            _deliver(notice, now, report)
    return report


def _superseded(notice: Notice, now: datetime.datetime) -> bool:
    """A later notice of the same appointment carries newer news, so the client
    only needs that one. A cancellation always goes out.

    A decision email says what the screening stands at when it is sent, so any
    later decision on the screening makes it old news: a later approval or
    decline owes its own email, and a return to review (a therapist stopped the
    session, with the client there) leaves nothing decided to tell.

    A reminder is no change of the appointment, so it never makes a change's
    email old news. It is old news itself once the appointment is cancelled,
    over or has begun, or has moved: a move clears reminder_sent_at, so the time
    the client is reminded of is owed its own reminder. (A staff decision on a
    held booking changes the revision but not the time: the reminder stands.)
    """
    if notice.kind == Notice.Kind.WAITLIST_OFFER:
        return waitlist.offer_is_old_news(notice, now)  # taken, expired, or the wait ended
    if notice.kind == Notice.Kind.CANCELLATION or notice.user_id is not None:
        return False  # account emails are not news of anything: each goes out
    if notice.kind == Notice.Kind.DECISION:
        decisions = ScreeningDecision.objects.filter(screening_id=notice.screening_id)
        return decisions.count() > notice.revision
    if notice.kind == Notice.Kind.REMINDER:
        still_owed = Appointment.objects.filter(
            pk=notice.appointment_id,
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
            starts_at__gt=now,
            reminder_sent_at__isnull=False,
        ).exists()
        reminded_again = Notice.objects.filter(
            appointment_id=notice.appointment_id,
            kind=Notice.Kind.REMINDER,
            revision__gt=notice.revision,
        ).exists()
        return reminded_again or not still_owed
    return (
        Notice.objects.filter(appointment_id=notice.appointment_id, revision__gt=notice.revision)
        .exclude(kind=Notice.Kind.REMINDER)
        .exists()
    )


def _cannot_receive_mail(notice: Notice) -> bool:
    """The person's login is no address: a client the front desk added without an email,
    or an erased one (clients.services.NO_MAIL_DOMAIN)."""
    if notice.user_id is not None:
        people = User.objects.filter(pk=notice.user_id)
    elif notice.screening_id is not None:
        people = User.objects.filter(client__screenings=notice.screening_id)
    elif notice.waitlist_offer_id is not None:
        people = User.objects.filter(client__waitlist_entries__offers=notice.waitlist_offer_id)
    else:
        people = User.objects.filter(client__appointments=notice.appointment_id)
    return people.filter(email__endswith=NO_MAIL_DOMAIN).exists()


def _deliver(notice: Notice, now: datetime.datetime, report: DeliveryReport) -> None:
    if _superseded(notice, now) or _cannot_receive_mail(notice):
        notice.skipped_at = now
        notice.save(update_fields=["skipped_at"])
        report.skipped += 1
        return
    notice.attempts += 1
    try:
        # A savepoint: should rendering hit a database error, the claim's
        # transaction survives to record the failed attempt.
        with transaction.atomic():
            _SENDERS[notice.kind](notice)
    except Exception as error:
        _record_failure(notice, error, now, report)
    else:
        notice.sent_at = now
        notice.save(update_fields=["attempts", "sent_at"])
        report.sent += 1


def _record_failure(
    notice: Notice, error: Exception, now: datetime.datetime, report: DeliveryReport
) -> None:
    # The failure's class and message only: logs and the admin never carry the email itself.
    notice.last_error = f"{type(error).__name__}: {error}"[:300]
    report.failed += 1
    if notice.attempts >= MAX_ATTEMPTS:
        notice.given_up_at = now
        report.given_up += 1
        logger.error(
            "Gave up emailing notice %s (%s) after %s attempts: %s",
            notice.pk,
            notice,
            notice.attempts,
            notice.last_error,
        )
    else:
        notice.next_attempt_at = now + RETRY_DELAYS[notice.attempts - 1]
        logger.warning(
            "Emailing notice %s (%s) failed, attempt %s of %s: %s",
            notice.pk,
            notice,
            notice.attempts,
            MAX_ATTEMPTS,
            notice.last_error,
        )
    notice.save(update_fields=["attempts", "last_error", "next_attempt_at", "given_up_at"])
