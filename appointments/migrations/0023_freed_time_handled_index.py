"""freedtime_handled_idx (handled_at) where handled: purge_sent_notices deletes the freed
times offered to the waitlist before the retention period, oldest first, in batches; without
it each batch would read every freed time the spa ever had (issue 14: nothing grows for
ever)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: cancellations go on while it is built

    dependencies = [
        ("appointments", "0022_time_off_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="freedtime",
            index=models.Index(
                condition=models.Q(("handled_at__isnull", False)),
                fields=["handled_at"],
                name="freedtime_handled_idx",
            ),
        ),
    ]
