"""Email a reminder for each appointment starting within the next 24 hours, once.

Safe to run as often as you like (every few minutes from cron), even twice at
the same moment: each appointment is claimed under a row lock, and marked as
reminded in the same transaction that sends its email.
"""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from appointments.models import Appointment
from appointments.notifications import send_reminder

REMINDER_LEAD = datetime.timedelta(hours=24)


class Command(BaseCommand):
    help = "Send reminders for appointments starting within 24 hours (each exactly once)."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        due = Appointment.objects.filter(
            status__in=[Appointment.Status.CONFIRMED, Appointment.Status.PENDING_REVIEW],
            starts_at__gt=now,
            starts_at__lte=now + REMINDER_LEAD,
            reminder_sent_at__isnull=True,
        )
        sent = 0
        for appointment_id in list(due.values_list("pk", flat=True)):
            with transaction.atomic():
                # Another run holding this row is sending it; skip instead of waiting.
                # The filter is read again under the lock: it may have been
                # cancelled, moved or reminded since the list was made.
                claimed = due.select_for_update(skip_locked=True).filter(pk=appointment_id).first()
                if claimed is None:
                    continue
                # If sending fails, the transaction rolls back and the next run retries.
                send_reminder(claimed.pk)
                claimed.reminder_sent_at = timezone.now()
                claimed.save(update_fields=["reminder_sent_at"])
                sent += 1
        self.stdout.write(f"Sent {sent} reminder{'s' if sent != 1 else ''}.")
