"""Owe a reminder for each appointment starting within the next 24 hours, once.

This only writes the reminder (a Notice) to the outbox; send_notices emails it,
with the same retries as every other email, so an address the mail server
refuses holds up no one else's reminder and no appointment stays locked while
the mail server answers.

Safe to run as often as you like (every few minutes from cron), even twice at
the same moment: each appointment is claimed under a row lock, briefly, and
marked as reminded (reminder_sent_at) in the transaction that writes its
reminder; PostgreSQL refuses a second reminder of the same appointment's time
(appointments_notice_reminder_once_per_revision). A move clears the mark, so the
new time is reminded of too.
"""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from appointments.models import Appointment, Notice

REMINDER_LEAD = datetime.timedelta(hours=24)


class Command(BaseCommand):
    help = "Owe a reminder for each appointment starting within 24 hours (each exactly once)."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        due = Appointment.objects.filter(
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
            starts_at__gt=now,
            starts_at__lte=now + REMINDER_LEAD,
            reminder_sent_at__isnull=True,
        )
        owed = 0
        for appointment_id in list(due.values_list("pk", flat=True)):
            # One short transaction per appointment: a booking waiting for this row
            # waits for two writes, never for the mail server.
            with transaction.atomic():
                # Another run holding this row is writing its reminder; skip instead
                # of waiting. The filter is read again under the lock: it may have
                # been cancelled, moved or reminded since the list was made.
                claimed = due.select_for_update(skip_locked=True).filter(pk=appointment_id).first()
                if claimed is None:
                    continue
                claimed.notices.create(kind=Notice.Kind.REMINDER, revision=claimed.revision)
                claimed.reminder_sent_at = timezone.now()
                claimed.save(update_fields=["reminder_sent_at"])
                owed += 1
        self.stdout.write(
            f"Owed {owed} reminder{'s' if owed != 1 else ''}; send_notices emails them."
        )
