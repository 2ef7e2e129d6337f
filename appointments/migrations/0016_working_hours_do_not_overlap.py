"""Working-hours blocks of one therapist never overlap on a day (PostgreSQL enforces it).

Blocks that overlap already are merged first, into one block from the earliest start to
the latest end, rather than refused: free times were already offered wherever any of the
blocks allowed, so the merged block means what the manager meant (a therapist working
09:00-12:00 and 11:00-14:00 works 09:00-14:00), and the day no longer shows twice
("18:15-23:59, 18:15-23:59"). Blocks that only touch (09:00-12:00, 12:00-15:00) stay apart.
"""

import datetime
from itertools import groupby

import django.contrib.postgres.constraints
from django.db import migrations

import appointments.models

Block = tuple[datetime.time, datetime.time]


def merged(blocks: list[Block]) -> list[Block]:
    """One day's blocks with every overlap merged, by start."""
    result: list[Block] = []
    for start, end in sorted(blocks):
        if result and start < result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def merge_overlapping_blocks(apps, schema_editor):
    WorkingHours = apps.get_model("appointments", "WorkingHours")
    rows = WorkingHours.objects.order_by("therapist_id", "weekday", "starts_at", "pk")
    for _, day in groupby(rows, key=lambda row: (row.therapist_id, row.weekday)):
        day = list(day)
        wanted = merged([(row.starts_at, row.ends_at) for row in day])
        if len(wanted) == len(day):
            continue
        # Keep the first rows (their ids), set to the merged blocks; delete the rest.
        for row, (start, end) in zip(day, wanted, strict=False):
            row.starts_at, row.ends_at = start, end
            row.save(update_fields=["starts_at", "ends_at"])
        WorkingHours.objects.filter(pk__in=[row.pk for row in day[len(wanted) :]]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0015_front_desk"),
    ]

    operations = [
        migrations.RunPython(merge_overlapping_blocks, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="workinghours",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                expressions=[
                    ("therapist", "="),
                    ("weekday", "="),
                    (appointments.models.TimeOfDayRange("starts_at", "ends_at"), "&&"),
                ],
                name="appointments_workinghours_no_overlap",
                violation_error_message="This block of working hours overlaps another block "
                "of the same therapist on the same day. Change one of them, or make them "
                "one block.",
            ),
        ),
    ]
