"""The outbox in tests: send what the booking services owe, as the send_notices worker would."""

import smtplib
import threading
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.db import connection, connections

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


class RefusingMailServer(LocmemEmailBackend):
    """Django's test outbox behind a mail server that refuses every address at
    refused.example (a mailbox that does not exist), and takes the rest."""

    def send_messages(self, messages):
        for message in messages:
            refused = [a for a in message.recipients() if a.endswith("@refused.example")]
            if refused:
                raise smtplib.SMTPRecipientsRefused(
                    {address: (550, b"5.1.1 No such user") for address in refused}
                )
        return super().send_messages(messages)


class SlowMailServer(LocmemEmailBackend):
    """Django's test outbox, taking a moment per email like a real server: senders overlap."""

    def send_messages(self, messages):
        time.sleep(0.02)
        return super().send_messages(messages)


def two_senders_at_once() -> list[DeliveryReport]:
    """Two send_notices passes started at the same instant, each on its own connection.

    Use with committed data (transaction=True) and SlowMailServer, so that while one
    sender holds a notice the other reaches for it. Fails the test if a sender crashed.
    """
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []
    crashes: list[BaseException] = []

    def sender() -> None:
        try:
            connection.ensure_connection()  # this thread's own connection
            barrier.wait(timeout=30)
            reports.append(deliver_notices())
        except BaseException as error:
            crashes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert crashes == []
    return reports
