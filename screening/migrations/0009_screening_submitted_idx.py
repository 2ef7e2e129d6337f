"""An index for purge_health_records: the clients who hold a screening submitted before
the retention cutoff, the only ones who can be due (issue 14: the purge read every
client, and an appointment's every row, each day).

Built CONCURRENTLY: a plain CREATE INDEX would hold up every new screening while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("screening", "0008_encrypt_health_data"),
    ]

    operations = [
        # ClientQuerySet.health_records_due_for_purge: screenings with submitted_at < cutoff.
        AddIndexConcurrently(
            model_name="healthscreening",
            index=models.Index(fields=["submitted_at"], name="screening_submitted_idx"),
        ),
    ]
