"""Delete the outbox's notices sent (or skipped as old news) more than
SPA_SENT_NOTICE_RETENTION_DAYS ago: the record of which emails went out is kept that
long, then it would only grow (a chain's outbox passes two million rows). The waitlist's
own outbox goes too: the times a cancellation freed, once offered to the people waiting
(handled) that long ago.

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

from appointments.models import FreedTime, Notice

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


def purge_freed_times(*, now: datetime.datetime | None = None, batch: int = BATCH) -> int:
    """Delete the freed times offered to the waitlist before the retention period; how many.
    One not yet offered is kept. Oldest first, through freedtime_handled_idx."""
    cutoff = (now or timezone.now()) - datetime.timedelta(
        days=settings.SPA_SENT_NOTICE_RETENTION_DAYS
    )
    return _delete_in_batches(FreedTime.objects.filter(handled_at__lt=cutoff), "handled_at", batch)


def _delete_in_batches(old: QuerySet, oldest_first: str, batch: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by(oldest_first).values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            deleted += old.model.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = (
        "Delete notices (emails) sent or skipped more than SPA_SENT_NOTICE_RETENTION_DAYS "
        "ago, and the freed times offered to the waitlist that long ago. Notices still to "
        "be sent, and freed times not yet offered, are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=BATCH, help="Notices deleted per transaction."
        )

    def handle(self, *args, batch: int = BATCH, **options) -> None:
        deleted = purge_sent_notices(batch=batch)
        freed = purge_freed_times(batch=batch)
        self.stdout.write(
            f"Deleted {deleted} sent notice{'s' if deleted != 1 else ''} and {freed} freed "
            f"time{'s' if freed != 1 else ''} already offered to the waitlist."
        )
