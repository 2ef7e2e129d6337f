"""The appointments' own index on client_id goes. appointment_client_start_idx
(client_id, starts_at) serves every lookup by client (the foreign key's checks and
cascades, "My appointments", the gate's reads), and every booking wrote both: 16 MB and
one more index write per booking at a chain's five years (issue 14)."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "appointments_appointment_client_id_c189cb9e"  # Django's name for the key's index


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: bookings go on while it is dropped

    dependencies = [
        ("appointments", "0020_stopped_check_index"),
        ("clients", "0007_admin_filter_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
                    "ON appointments_appointment (client_id)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="appointment",
                    name="client",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="appointments",
                        to="clients.client",
                    ),
                ),
            ],
        ),
    ]
