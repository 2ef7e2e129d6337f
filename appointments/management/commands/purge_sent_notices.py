"""Delete the outbox's notices sent (or skipped as old news) more than
SPA_SENT_NOTICE_RETENTION_DAYS ago: the record of which emails went out is kept that
long, then it would only grow (a chain's outbox passes two million rows).

Run it daily (cron or a systemd timer). It deletes in small batches, each its own
transaction, so no lock is held for long and the sender carries on meanwhile. A notice
still owed (even one failing and retrying) or given up on is never deleted. Safe to run
again: a second run finds nothing left.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import Notice

BATCH = 1000


def purge_sent_notices(*, now: datetime.datetime | None = None, batch: int = BATCH) -> int:
    """Delete the notices sent or skipped before the retention period; how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(
        days=settings.SPA_SENT_NOTICE_RETENTION_DAYS
    )
    # Sent and skipped ones apart, oldest first, each through its own index
    # (notice_sent_idx, notice_skipped_idx): a batch reads a batch of rows, not all the
    # old ones again. A notice given up on has neither date, one still owed neither yet.
    return sum(
        _delete_in_batches(Notice.objects.filter(**{f"{settled}__lt": cutoff}), settled, batch)
        for settled in ("sent_at", "skipped_at")
    )


def _delete_in_batches(old: QuerySet[Notice], oldest_first: str, batch: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by(oldest_first).values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            deleted += Notice.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = (
        "Delete notices (emails) sent or skipped more than SPA_SENT_NOTICE_RETENTION_DAYS "
        "ago. Notices still to be sent are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=BATCH, help="Notices deleted per transaction."
        )

    def handle(self, *args, batch: int = BATCH, **options) -> None:
        deleted = purge_sent_notices(batch=batch)
        self.stdout.write(f"Deleted {deleted} sent notice{'s' if deleted != 1 else ''}.")
