"""The outbox in tests: send what the booking services owe, as the send_notices worker would."""

import smtplib
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend

from appointments.notifications import DeliveryReport, deliver_notices


def deliver_owed_notices() -> DeliveryReport:
    """One pass of the sender after the change committed: every notice due now is emailed.

    The mail server (Django's test outbox) never fails here; tests of failures
    call deliver_notices themselves.
    """
    report = deliver_notices()
    assert (report.failed, report.given_up) == (0, 0), report
    return report


class BrokenMailServer(BaseEmailBackend):
    """A mail server that hangs up on every email."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class SlowMailServer(LocmemEmailBackend):
    """Django's test outbox, taking a moment per email like a real server: senders overlap."""

    def send_messages(self, messages):
        time.sleep(0.02)
        return super().send_messages(messages)
