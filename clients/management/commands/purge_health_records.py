"""Purge the health records the retention period has run out on (docs/PRIVACY.md).

Run it daily (cron or a systemd timer). Each client is purged in their own
transaction, under their lock, after checking again that the period has passed;
a second run finds nothing left to purge. The report counts, and names nobody.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from clients import services
from clients.models import Client


class Command(BaseCommand):
    help = (
        "Delete the health screenings (and health notes) of clients whose last appointment "
        "and last screening are older than SPA_HEALTH_RECORD_RETENTION_YEARS. Accounts stay."
    )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        due = Client.objects.health_records_due_for_purge(services.health_record_cutoff(now))
        purged = sum(
            services.purge_health_records(client=client, now=now)
            for client in list(due.only("pk").order_by("pk"))
        )
        if purged:
            self.stdout.write(
                f"Purged the health records of {purged} client{'s' if purged != 1 else ''}."
            )
        else:
            self.stdout.write("No health records were due for purging.")
