"""Indexes for the admin's own history (django_admin_log, Django's LogEntry), which grows
with every change staff make in the admin and is never cleaned up: a chain's holds
hundreds of thousands of rows, and Django indexes only its foreign keys.

- django_admin_log_object_idx (content_type_id, object_id, action_time): an object's
  history page (ModelAdmin.history_view: WHERE object_id = ... AND content_type_id = ...
  ORDER BY action_time, and its count), and the erasure that renames an erased client's
  entries (clients.services.erase_client). With the content type's index alone these read
  every entry about that kind of record; the appointments' a whole-table scan.
- django_admin_log_user_time_idx (user_id, action_time): "Recent actions" on the admin's
  index page (the get_admin_log tag: the signed-in user's newest ten), which otherwise
  sorted all that person's entries of the years.

Written as SQL on Django's table (the model is Django's); CONCURRENTLY: the admin goes on
while they are built.
"""

from django.db import migrations

INDEXES = {
    "django_admin_log_object_idx": "django_admin_log (content_type_id, object_id, action_time)",
    "django_admin_log_user_time_idx": "django_admin_log (user_id, action_time)",
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("clients", "0007_admin_filter_indexes"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
            f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
