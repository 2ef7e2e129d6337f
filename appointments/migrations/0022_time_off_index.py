"""timeoff_span_idx, a GiST index of tstzrange(starts_at, ends_at): the time off that
overlaps a window (TimeOffQuerySet.overlapping, and the same expression in
appointments.free_times). Every search of free times (a booking, a calendar, a day of
times), the front desk's day book and the therapists' schedules ask for it. With only the
therapist's index, PostgreSQL read every holiday and sick day each therapist ever had (two
weeks and a few days a therapist a year, for as many years as the spa has run), or the
whole table: the free times' prepared statement, planned once for any window, cannot tell
how few rows end after its parameter, and read 12,000 rows of a 430-therapist chain on every
booking. The range's overlap is estimated selective even then (issue 14)."""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

import appointments.models


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY: bookings go on while it is built

    dependencies = [
        ("appointments", "0021_client_index_serves_the_foreign_key"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="timeoff",
            index=django.contrib.postgres.indexes.GistIndex(
                appointments.models.TsTzRange("starts_at", "ends_at"), name="timeoff_span_idx"
            ),
        ),
    ]
