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
from django.utils import timezone

from screening.models import ScreeningDecision
from screening.notifications import send_decision

from .ics import appointment_calendar
from .models import Appointment, Notice

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


def _send(appointment_id: int, template: str, subject: str, *, attach_calendar: bool) -> None:
    appointment = Appointment.objects.with_details().filter(pk=appointment_id).first()
    if appointment is None:
        return
    context = {
        "appointment": appointment,
        "client": appointment.client,
        "starts_at": timezone.localtime(appointment.starts_at),
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
        "cancellation_window": f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}",
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"appointments/email/{template}.txt", context),
        to=[appointment.client.user.email],
    )
    if attach_calendar:
        message.attach("appointment.ics", appointment_calendar(appointment), "text/calendar")
    message.send()


def send_booking_confirmation(appointment_id: int) -> None:
    _send(
        appointment_id, "confirmation", f"Your booking at {settings.SPA_NAME}", attach_calendar=True
    )


def send_held_notice(appointment_id: int) -> None:
    _send(
        appointment_id,
        "held",
        f"Your booking at {settings.SPA_NAME} is held for a health review",
        attach_calendar=True,  # a TENTATIVE event until staff decide
    )


def send_cancellation_notice(appointment_id: int) -> None:
    _send(
        appointment_id,
        "cancellation",
        f"Your appointment at {settings.SPA_NAME} is cancelled",
        attach_calendar=True,
    )


def send_reschedule_notice(appointment_id: int) -> None:
    _send(
        appointment_id,
        "reschedule",
        f"Your appointment at {settings.SPA_NAME} has moved",
        attach_calendar=True,
    )


def send_reminder(appointment_id: int) -> None:
    _send(
        appointment_id,
        "reminder",
        f"Reminder: your appointment at {settings.SPA_NAME} tomorrow",
        attach_calendar=False,
    )


@dataclass
class DeliveryReport:
    """What one pass of deliver_notices did."""

    sent: int = 0
    failed: int = 0  # the mail server refused; tried again later unless given up
    skipped: int = 0  # superseded by later news of the same appointment or screening
    given_up: int = 0  # of the failed ones, those that reached MAX_ATTEMPTS

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.skipped


_SENDERS: dict[str, Callable[[int], None]] = {
    Notice.Kind.CONFIRMATION: send_booking_confirmation,
    Notice.Kind.HELD: send_held_notice,
    Notice.Kind.CANCELLATION: send_cancellation_notice,
    Notice.Kind.RESCHEDULE: send_reschedule_notice,
    Notice.Kind.DECISION: send_decision,
}


def deliver_notices(
    *, limit: int | None = None, now: datetime.datetime | None = None
) -> DeliveryReport:
    """Email the notices that are due at `now` (at most `limit` of them), each once.

    Safe to run as often as you like, even several senders at once: each notice
    is claimed under a row lock that the other senders skip, emailed, and marked
    in the same transaction. (Only if the database fails after the mail server
    took the email, before the commit, is that one email sent again later.)
    """
    now = now or timezone.now()
    report = DeliveryReport()
    while limit is None or report.handled < limit:
        with transaction.atomic():
            notice = Notice.objects.due(now).select_for_update(skip_locked=True).first()
            if notice is None:
                break
            _deliver(notice, now, report)
    return report


def _superseded(notice: Notice) -> bool:
    """A later notice of the same appointment carries newer news, so the client
    only needs that one. A cancellation always goes out.

    A decision email says what the screening stands at when it is sent, so any
    later decision on the screening makes it old news: a later approval or
    decline owes its own email, and a return to review (a therapist stopped the
    session, with the client there) leaves nothing decided to tell.
    """
    if notice.kind == Notice.Kind.CANCELLATION:
        return False
    if notice.kind == Notice.Kind.DECISION:
        decisions = ScreeningDecision.objects.filter(screening_id=notice.screening_id)
        return decisions.count() > notice.revision
    return Notice.objects.filter(
        appointment_id=notice.appointment_id, revision__gt=notice.revision
    ).exists()


def _deliver(notice: Notice, now: datetime.datetime, report: DeliveryReport) -> None:
    if _superseded(notice):
        notice.skipped_at = now
        notice.save(update_fields=["skipped_at"])
        report.skipped += 1
        return
    notice.attempts += 1
    try:
        # A savepoint: should rendering hit a database error, the claim's
        # transaction survives to record the failed attempt.
        with transaction.atomic():
            _SENDERS[notice.kind](notice.screening_id or notice.appointment_id)
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
