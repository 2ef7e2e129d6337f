"""Indexes for the admin's lists at a chain's size (issue 14), each for one filter:

- accessrecord_viewer_idx (viewed_by, viewed_at): the access records by who looked
  (clients.privacy_admin.ViewerFilter), newest first.
- user_superuser_idx, user_inactive_idx (email) where a superuser / switched off: the
  accounts list's "superuser" and "active = No" filters, in the order of email, and their
  counts (a few rows among 100,000, which a scan would read whole to find).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: the site goes on while they are built

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('clients', '0006_login_log_indexes'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='accessrecord',
            index=models.Index(fields=['viewed_by', 'viewed_at'], name='accessrecord_viewer_idx'),
        ),
        AddIndexConcurrently(
            model_name='user',
            index=models.Index(condition=models.Q(('is_superuser', True)), fields=['email'], name='user_superuser_idx'),
        ),
        AddIndexConcurrently(
            model_name='user',
            index=models.Index(condition=models.Q(('is_active', False)), fields=['email'], name='user_inactive_idx'),
        ),
    ]
