"""Indexes on the times of django-axes' login records, for deleting the old ones.

`manage.py axes_reset_logs --age 30` (and axes_reset_failure_logs) delete the records
older than 30 days with `attempt_time <= limit`; axes itself deletes expired attempts
that way on every login. Axes does not index attempt_time, so each of those read the
whole table, which grows with every login. Axes' tables are not ours to model, so the
indexes are made here, by name (issue 14).

Built CONCURRENTLY: a plain CREATE INDEX would hold up every login while it builds.
"""

from django.db import migrations

INDEXES = {
    # axes_reset_logs: AccessLog.objects.filter(attempt_time__lte=limit).delete()
    "axes_accesslog": "axes_accesslog_attempt_time_idx",
    # axes_reset_failure_logs: AccessFailureLog.objects.filter(attempt_time__lte=limit)
    "axes_accessfailurelog": "axes_failurelog_attempt_time_idx",
    # every login (clean_expired_user_attempts): AccessAttempt, attempt_time <= cool-off
    "axes_accessattempt": "axes_attempt_attempt_time_idx",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("clients", "0003_second_factor_reset"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} (attempt_time)",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for table, name in INDEXES.items()
    ]
