"""Indexes for the staff lists at a chain's size (issue 14): each admin filter, and the
front desk's work list, reads only the rows it shows, in order of start.

- appointment_by_status_idx (status, starts_at): the admin's status filter, newest first,
  its count and its date bar; the front desk's held bookings (pending_review, from now).
- appointment_by_therapist_idx, appointment_by_room_idx, appointment_by_treatment_idx:
  the admin's therapist, room and treatment filters, newest first. They replace the
  foreign keys' own indexes, whose lookups they serve as well.
- appointment_follow_up_idx (starts_at) where needs_follow_up: the front desk's calls to
  make and the admin's follow-up filter (a few rows among millions).
- waitlistentry_added_idx (created_at, id), waitlistentry_state_idx (state, created_at):
  the waitlist admin's list in the order added, whole or by state.

Built CONCURRENTLY (so not in a transaction): on a chain's two million appointments each
takes seconds, and a plain CREATE INDEX would hold every booking meanwhile. The foreign
keys' indexes are dropped the same way; Django's AlterField would also drop and check
again each foreign key constraint.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

TABLE = "appointments_appointment"
# The foreign keys' own indexes, as Django named them in 0002_initial.
FOREIGN_KEY_INDEXES = {
    "room": "appointments_appointment_room_id_8b7cb359",
    "therapist": "appointments_appointment_therapist_id_74b036bb",
    "treatment": "appointments_appointment_treatment_id_09fc3cb8",
}


def without_its_own_index(name: str, model: str) -> migrations.SeparateDatabaseAndState:
    index = FOREIGN_KEY_INDEXES[name]
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name="appointment",
                name=name,
                field=models.ForeignKey(
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="appointments",
                    to=model,
                ),
            ),
        ],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" '
                f'ON "{TABLE}" ("{name}_id")',
            ),
        ],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("appointments", "0018_schedule_and_periodic_command_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(fields=["status", "starts_at"], name="appointment_by_status_idx"),
        ),
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                fields=["therapist", "starts_at"], name="appointment_by_therapist_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(fields=["room", "starts_at"], name="appointment_by_room_idx"),
        ),
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                fields=["treatment", "starts_at"], name="appointment_by_treatment_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="appointment",
            index=models.Index(
                condition=models.Q(("needs_follow_up", True)),
                fields=["starts_at"],
                name="appointment_follow_up_idx",
            ),
        ),
        # After the indexes above exist: the foreign keys are never without one.
        without_its_own_index("room", "appointments.room"),
        without_its_own_index("therapist", "appointments.therapist"),
        without_its_own_index("treatment", "appointments.treatment"),
        AddIndexConcurrently(
            model_name="waitlistentry",
            index=models.Index(fields=["created_at", "id"], name="waitlistentry_added_idx"),
        ),
        AddIndexConcurrently(
            model_name="waitlistentry",
            index=models.Index(fields=["state", "created_at"], name="waitlistentry_state_idx"),
        ),
    ]
