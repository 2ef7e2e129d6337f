"""Email the notices clients are owed: confirmations, cancellations, new times, screening decisions.

The booking and screening services write a Notice in the change's transaction;
this sends them. One pass by default (cron, every minute), or a worker with --loop SECONDS
that polls until Ctrl-C or SIGTERM. Safe to run several at once: each notice is
emailed once. Failures are retried on later passes and logged.
"""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from appointments.notifications import DeliveryReport, deliver_notices

logger = logging.getLogger(__name__)

# A worker checks for a stop request between batches, so SIGTERM never waits
# for a long backlog (systemd gives a service 90 seconds to stop).
LOOP_BATCH = 20


class Command(BaseCommand):
    help = "Email the notices owed to clients (appointments, screening decisions), each once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Keep running, looking for new notices every SECONDS, until Ctrl-C or SIGTERM.",
        )

    def handle(self, *args, loop: float | None = None, **options) -> None:
        if loop is None:
            self._print(deliver_notices())
            return
        if loop <= 0:
            raise CommandError("--loop needs a number of seconds greater than 0.")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Sending notices every {loop:g} s until stopped.")
        while not stop.is_set():
            # A worker outlives connections: drop one the database closed or that is too old.
            close_old_connections()
            try:
                report = deliver_notices(limit=LOOP_BATCH)
            except DatabaseError:
                # The database restarting must not end the worker; try again after the pause.
                logger.exception("Sending notices failed; trying again in %g s.", loop)
                stop.wait(loop)
                continue
            if report.handled:
                self._print(report)
            if report.handled < LOOP_BATCH:
                stop.wait(loop)
        self.stdout.write("Stopped sending notices.")

    def _print(self, report: DeliveryReport) -> None:
        line = f"Notices: {report.sent} sent, {report.failed} failed, {report.skipped} skipped."
        if report.given_up:
            line += f" Gave up on {report.given_up} (see the error log)."
        self.stdout.write(line)
