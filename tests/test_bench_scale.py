"""`make bench-scale` at a thousandth of the size, so its seeder and its measuring cannot rot.

The seed goes into the test database inside the test's transaction (rolled back after),
with the same COPY, dropped-and-rebuilt constraints and adult check as the full run.
"""

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment, Notice, Therapist
from bench.scale import commands, pages, seed
from bench.scale.measure import Result, big_seq_scans, big_tables, measure
from bench.scale.ratio import measure_ratio
from bench.scale.views import create_table
from clients.models import Client
from screening.models import HealthScreening

MEASURED = [
    "treatment page: 4-week calendar (ashiatsu-60)",
    "booking POST (ashiatsu-60, distinct free times)",
    "minimal logged-in insert POST (exclusion constraint)",
    "my appointments",
    "day schedule (today)",
    "front desk: day book (today)",
]


@pytest.fixture
def chain(db, settings):
    settings.ROOT_URLCONF = "bench.scale.urls"  # the floor view, bench-scale-insert
    steps = []
    record = seed.seed(scale=0.001, report=lambda label, seconds: steps.append(label))
    create_table()
    return record, steps


def test_tiny_chain_is_seeded_whole_and_checked(chain):
    record, steps = chain
    size = seed.Size.chain(0.001)

    assert Therapist.objects.count() == size.therapists
    assert Client.objects.count() == size.clients
    assert HealthScreening.objects.count() > 0
    assert Appointment.objects.count() == record["appointments"] > 0
    assert Appointment.objects.filter(status=Appointment.Status.CANCELLED).exists()
    assert Notice.objects.count() == record["notices"] >= size.notices
    assert record["persona"]["past"] > 0 and record["persona"]["upcoming"] > 0
    # Nothing was booked, cancelled or emailed in the future.
    now = timezone.now()
    assert not Appointment.objects.filter(created_at__gt=now).exists()
    assert not Appointment.objects.filter(cancelled_at__gt=now).exists()
    assert not Notice.objects.filter(created_at__gt=now).exists()
    # The constraints dropped for the load are back (rebuilding them checked every row).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = "
            "'appointments_appointment'::regclass AND contype = 'x'"
        )
        assert cursor.fetchone()[0] == 3
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
            "'appointments_appointment'::regclass AND NOT tgisinternal AND tgenabled = 'O'"
        )
        assert cursor.fetchone()[0] == 1
    assert seed.check_back_walking_adults() == 0
    assert seed.seeded()["appointments"] == record["appointments"]
    assert "back-walking adult rule checked over every active appointment" in steps


def test_pages_and_a_command_are_measured_on_the_tiny_chain(chain):
    record, _ = chain
    people = pages.cast(record)
    browsers = pages.browsers(people)
    every = pages.site_pages(people, runs=2) + pages.admin_pages(
        people, browsers["staff"], filter_values=1
    )
    missing, _ = pages.uncovered(every)
    assert missing == []
    chosen = {page.label: page for page in every}
    chosen["admin list"] = next(page for page in every if page.label == "admin: appointments")

    for label in [*MEASURED, "admin list"]:
        page = chosen[label]
        browser = browsers[page.role]
        result = measure(
            Result(page.role, page.label, page.path, page.target_ms, expect=page.expect),
            lambda number, page=page, browser=browser: (
                page.prepare(browser, number) if page.prepare else lambda: browser.get(page.path)
            ),
            runs=2,
        )

        assert result.status == page.expect, (label, result.note)
        assert result.runs >= 1 and result.queries > 0 and result.median_ms > 0, label
        assert result.slowest_sql, label
    reminders = commands.measure_command("send_reminders", [])
    assert reminders.status == "ok" and reminders.queries > 0

    # The booking POST and the floor in turns: the same free times serve every pair.
    booking = chosen["booking POST (ashiatsu-60, distinct free times)"]
    floor = chosen["minimal logged-in insert POST (exclusion constraint)"]
    ratio = measure_ratio(booking, floor, browsers["client"], pairs=3 * booking.runs)
    assert ratio.booking_ms > 0 and ratio.floor_ms > 0
    assert f"{ratio.ratio:.2f}x" in ratio.line()
    assert not Appointment.objects.filter(booking_token__isnull=False).exists()


def _seq_scan(rows: int, removed: int = 0, loops: int = 1) -> dict:
    scan = {
        "Node Type": "Seq Scan",
        "Relation Name": "clients_user",
        "Actual Rows": rows,
        "Rows Removed by Filter": removed,
        "Actual Loops": loops,
    }
    return {"Plan": {"Node Type": "Aggregate", "Plans": [{"Node Type": "Limit", "Plans": [scan]}]}}


def test_a_seq_scan_is_flagged_when_it_reads_most_of_a_big_table(monkeypatch):
    monkeypatch.setitem(big_tables, "clients_user", 100_000)
    # Filtered or spread over parallel workers, it read the table all the same.
    assert big_seq_scans(_seq_scan(rows=20, removed=99_980)) == {"clients_user"}
    assert big_seq_scans(_seq_scan(rows=10_000, removed=7_000, loops=3)) == {"clients_user"}
    # A count capped at 10,001 rows, stopped by its LIMIT: a bounded read, not flagged
    # (its rows still count in the page's rows read).
    assert big_seq_scans(_seq_scan(rows=10_001)) == set()
    assert big_seq_scans(_seq_scan(rows=10_001, removed=4)) == set()
