"""Indexes for a chain's size: the queries a therapist's schedule and the periodic
commands run read their own rows, never the years of history (issue 14).

Built CONCURRENTLY: on a table of millions of appointments a plain CREATE INDEX would
hold up every booking while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("appointments", "0017_front_desk_group"),
    ]

    operations = [
        # release_expired_holds: status = 'pending_review' AND hold_expires_at <= now.
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                condition=Q(status="pending_review"),
                fields=["hold_expires_at"],
                name="appointment_hold_expiry_idx",
            ),
        ),
        # send_reminders: open, not yet reminded, starting within the next 24 hours.
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                condition=Q(
                    reminder_sent_at__isnull=True, status__in=["confirmed", "pending_review"]
                ),
                fields=["starts_at"],
                name="appointment_reminder_due_idx",
            ),
        ),
        # purge_health_records: appointments with a cancellation reason (a health record)
        # that started before the retention cutoff.
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                condition=~Q(cancellation_reason=""),
                fields=["starts_at"],
                name="appointment_reason_start_idx",
            ),
        ),
        # purge_sent_notices: notices sent before the retention period...
        AddIndexConcurrently(
            model_name="notice",
            index=models.Index(
                condition=Q(sent_at__isnull=False), fields=["sent_at"], name="notice_sent_idx"
            ),
        ),
        # ...or skipped as old news before it.
        AddIndexConcurrently(
            model_name="notice",
            index=models.Index(
                condition=Q(skipped_at__isnull=False),
                fields=["skipped_at"],
                name="notice_skipped_idx",
            ),
        ),
    ]
