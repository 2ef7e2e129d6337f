"""Indexes for django-axes' admin lists of its login log (axes_accesslog), which grows
with every log-in (the times are indexed by 0004: axes_accesslog_attempt_time_idx serves
the list, newest first, its "Attempt time" filter and its date bar's first and last).

- axes_accesslog_logout_idx (logout_time) where logged out: the admin's "Logout time"
  filter.
- axes_accesslog_username_trgm_idx UPPER(username), axes_accesslog_address_trgm_idx
  UPPER(HOST(ip_address)): the admin's search (clients.login_log_admin), by user name
  or address, in the expressions Django's `icontains` compares.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "axes_accesslog_logout_idx": "axes_accesslog (logout_time) WHERE logout_time IS NOT NULL",
    "axes_accesslog_username_trgm_idx": (
        'axes_accesslog USING gin ((UPPER("username"::text)) gin_trgm_ops)'
    ),
    "axes_accesslog_address_trgm_idx": (
        'axes_accesslog USING gin ((UPPER(HOST("ip_address"))) gin_trgm_ops)'
    ),
}


class Migration(migrations.Migration):
    # CONCURRENTLY: log-ins go on while the indexes are built.
    atomic = False

    dependencies = [
        ("clients", "0005_admin_list_indexes"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        TrigramExtension(),
        *(
            migrations.RunSQL(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
                f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            )
            for name, definition in INDEXES.items()
        ),
    ]
