"""screening_submitted_idx (submitted_at, id): the admin's list of every screening, newest
first (issue 14). The held bookings it shows are counted per screening shown, through
the appointments' foreign key index."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CONCURRENTLY: bookings and sign-ups go on while the indexes are built.
    atomic = False

    dependencies = [
        ("screening", "0008_encrypt_health_data"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="healthscreening",
            index=models.Index(fields=["submitted_at", "id"], name="screening_submitted_idx"),
        ),
    ]
