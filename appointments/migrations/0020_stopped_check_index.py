"""presessioncheck_stopped_idx (appointment_id) where the session was stopped: the front
desk's work list asks of each appointment flagged for a call whether its session was
stopped (a client owed a follow-up); without it PostgreSQL reads every check ever recorded
to find the few stopped ones (issue 14)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: therapists record checks while it is built

    dependencies = [
        ("appointments", "0019_admin_list_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="presessioncheck",
            index=models.Index(
                condition=models.Q(("outcome", "stopped")),
                fields=["appointment"],
                name="presessioncheck_stopped_idx",
            ),
        ),
    ]
