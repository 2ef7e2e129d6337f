"""The benchmark's steps in order, each printed as a table. Runs after django.setup()."""

import argparse
import datetime
import os
import platform
import sys
import time
import timeit
from collections import Counter

import django
from django.db import connection
from django.utils import timezone

from appointments import notifications

from . import daybook, freetimes, load, seed, server
from .plan import log_in, plan_bookings

FREE_TIMES_TREATMENT = "ashiatsu-60"
FREE_TIMES_TARGET_MS = 30
THROUGHPUT_TARGET = 0.30

# Two active appointments that share a therapist, a room or a client and overlap in
# blocked time; the exclusion constraints make this impossible, and this checks it.
OVERLAPS = """
SELECT '{kind}', count(*)
FROM appointments_appointment a
JOIN appointments_appointment b
  ON a.id < b.id AND a.{column} = b.{column}
 AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(b.starts_at, b.blocked_until)
WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""


def run(*, options: argparse.Namespace, env: dict[str, str], booked_treatments) -> None:
    _machine()
    now = timezone.now()
    started = time.perf_counter()
    seeded = seed.seed(now=now)
    with connection.cursor() as cursor:
        # Fresh statistics, as a database that has been running a while has them.
        cursor.execute("VACUUM ANALYZE")
    _seeding(seeded, time.perf_counter() - started)

    treatment = seeded.treatments[FREE_TIMES_TREATMENT]
    tomorrow = timezone.localdate(now) + datetime.timedelta(days=1)
    rows = [
        freetimes.measure(
            treatment=treatment,
            first_day=tomorrow,
            days=days,
            label=label,
            repetitions=options.repetitions,
        )
        for days, label in ((1, "1 day"), (14, "14 days"), (28, "28 days (calendar page)"))
    ]
    _free_times(rows, treatment.name, options.repetitions)
    day = daybook.widest_day(tomorrow, treatment, target=seed.TARGET_OCCUPANCY)
    _day_book(daybook.measure(day=day, treatment=treatment, repetitions=options.repetitions))

    failures = _http(options, env, seeded, booked_treatments)
    overlaps = _overlaps()
    if failures or overlaps:
        sys.exit(1)


def _machine() -> None:
    _title("Machine")
    rows = machine()
    rows[-1] = (rows[-1][0], f"{rows[-1][1]} (other work on the machine)")
    _table(["what", "value"], [list(row) for row in rows])


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    return [
        ("CPU cores (nproc)", str(os.cpu_count())),
        ("CPU model", cpu),
        ("CPU speed: Python's sum(range(10**6)), best of 5", f"{_reference_loop_ms():.1f} ms"),
        ("memory", f"{kib / 1024 / 1024:.1f} GiB"),
        ("PostgreSQL", f"{postgres} (shared_buffers {buffers})"),
        ("Python / Django", f"{platform.python_version()} / {django.get_version()}"),
        ("load average (1 min) at start", load),
    ]


def _reference_loop_ms() -> float:
    """A fixed piece of pure Python, timed: machines of the same kind differ (two runs of
    this benchmark on the same kind of machine measured 6 ms and 14 ms for the same page),
    and this says how fast this one's cores were when it ran."""
    return min(timeit.repeat("sum(range(10**6))", number=1, repeat=5)) * 1000


def _seeding(seeded: seed.Seeded, seconds: float) -> None:
    _title(f"Seeded spa ({seconds:.1f} s)")
    _table(
        ["what", "value"],
        [
            [
                "therapists / rooms / clients",
                f"{len(seed.THERAPISTS)} / {len(seed.ROOMS)} / {len(seeded.clients)}",
            ],
            ["appointments from, to", f"{seeded.first_day} to {seeded.last_day} (-4 to +4 weeks)"],
            ["active appointments", str(seeded.appointments)],
            ["cancelled appointments", str(seeded.cancelled)],
            ["therapist occupancy", f"{seeded.therapist_occupancy:.1%} of working time blocked"],
            ["room occupancy", f"{seeded.room_occupancy:.1%} of 09:00-18:00 Mon-Sat"],
        ],
    )


def _free_times(rows: list[freetimes.FreeTimes], name: str, repetitions: int) -> None:
    _title(f"Free times in process: free_times.free_slots, {name} ({repetitions} runs each)")
    _table(
        ["span", "slots", "queries", "median ms", "p95 ms", "SQL ms", "pure ms", "other ms"],
        [
            [
                row.label,
                str(row.slots),
                str(row.queries),
                f"{row.median_ms:.2f}",
                f"{row.p95_ms:.2f}",
                f"{row.sql_ms:.2f}",
                f"{row.pure_ms:.2f}",
                f"{row.other_ms:.2f}",
            ]
            for row in rows
        ],
    )
    print(
        "SQL = inside cursor.execute; pure = availability.free_slots; "
        "other = rows to model instances and schedule values."
    )
    one, fourteen = rows[0], rows[1]
    met = fourteen.median_ms < FREE_TIMES_TARGET_MS and fourteen.queries == one.queries
    print(
        f"Target (14 days under {FREE_TIMES_TARGET_MS} ms median, same queries as 1 day): "
        f"{'met' if met else 'NOT met'} ({fourteen.median_ms:.1f} ms, "
        f"{fourteen.queries} queries vs {one.queries})."
    )


def _day_book(row: daybook.DayBookTime) -> None:
    _title(f"The front desk's day book in process: {row.day:%a %d %b %Y}, rendered")
    _table(
        ["therapists", "appointments", "occupancy", "queries", "median ms", "p95 ms", "HTML KiB"],
        [
            [
                str(row.therapists),
                str(row.appointments),
                f"{row.occupancy:.1%}",
                str(row.queries),
                f"{row.median_ms:.1f}",
                f"{row.p95_ms:.1f}",
                f"{row.html_kb:.0f}",
            ]
        ],
    )
    print(
        "appointments.front_desk.views.day called directly (no middleware), with the same "
        "treatment's free times, for the day of the next 28 on which the most therapists work "
        "whose occupancy is nearest the seeded target (60%)."
    )


def _http(options, env, seeded: seed.Seeded, booked_treatments) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, "
            "at timestamptz NOT NULL DEFAULT now())"
        )
    treatments = [seeded.treatments[slug] for slug in booked_treatments]
    plan = plan_bookings(treatments=treatments, clients=seeded.clients, count=options.bookings)
    log_in(plan)
    connection.close()  # the server's workers are the ones that should hold connections
    port = server.free_port()
    with server.gunicorn(port=port, workers=options.workers, env=env) as log:
        threads = options.threads
        forms, form_examples = load.open_forms(plan, port=port, threads=threads)
        load.insert(plan, port=port, threads=threads, count=20 * threads)  # warm-up
        # Rounds of bookings, each followed by the bare insert for as long: whatever else
        # the machine is doing meanwhile weighs on both alike.
        bookings, inserts = [], []
        size = -(-len(plan) // options.rounds)
        for first in range(0, len(plan), size):
            bookings.append(load.book(plan[first : first + size], port=port, threads=threads))
            seconds = bookings[-1].seconds
            inserts.append(load.insert(plan, port=port, threads=threads, seconds=seconds))
        booking, bare = load.combine(bookings), load.combine(inserts)
        server_log = log.read_text()

    _title(
        f"Booking over HTTP: gunicorn {options.workers} sync workers, "
        f"{options.threads} client threads, loopback, {len(bookings)} rounds"
    )
    print(
        f"{len(plan)} distinct free (start, therapist) pairs planned "
        f"({', '.join(t.name for t in treatments)}); confirmation pages: {_outcomes(forms)}."
    )
    _table(
        ["requests", "count", "seconds", "req/s", "median ms", "p95 ms", "outcomes"],
        [
            [
                phase.label,
                str(phase.requests),
                f"{phase.seconds:.1f}",
                f"{phase.throughput:.0f}",
                f"{phase.median_ms:.1f}",
                f"{phase.p95_ms:.1f}",
                _outcomes(phase.statuses),
            ]
            for phase in (booking, bare)
        ],
    )
    print(
        "During each phase: the machine's CPU time (all processes), and the server's "
        "PostgreSQL sessions (average number, sampled every 20 ms):"
    )
    _table(
        ["requests", *(f"CPU {name}" for name in booking.cpu), *booking.backends],
        [
            [
                phase.label,
                *(f"{value:.0%}" for value in phase.cpu.values()),
                *(f"{value:.2f}" for value in phase.backends.values()),
            ]
            for phase in (booking, bare)
        ],
    )
    print("CPU time per request, by process (from /proc/<pid>/stat):")
    _table(
        ["requests", *(f"{group} ms" for group in booking.processes), "total ms"],
        [
            [
                phase.label,
                *(f"{seconds * 1000 / phase.requests:.2f}" for seconds in phase.processes.values()),
                f"{sum(phase.processes.values()) * 1000 / phase.requests:.2f}",
            ]
            for phase in (booking, bare)
        ],
    )
    for outcome, text in {**form_examples, **booking.examples, **bare.examples}.items():
        print(f"First '{outcome}' page said: {text}")
    ratio = booking.throughput / bare.throughput
    print(
        f"Booking / bare insert throughput: {ratio:.0%}. Target (at least "
        f"{THROUGHPUT_TARGET:.0%}): {'met' if ratio >= THROUGHPUT_TARGET else 'NOT met'}."
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM appointments_appointment WHERE booking_token IS NOT NULL"
        )
        booked = cursor.fetchone()[0]
    print(f"Appointments booked over HTTP, counted in the database: {booked}.")
    _deliver_owed_emails()
    failures = sum(
        count
        for outcomes in (forms, booking.statuses, bare.statuses)
        for outcome, count in outcomes.items()
        if outcome not in ("form", "302 booked", "409 conflict", "200 inserted")
    )
    if failures or booked != booking.statuses["302 booked"]:
        print(f"FAILURES: {failures}. The end of gunicorn's log:\n{server_log[-3000:]}")
        return failures or 1
    return 0


def _deliver_owed_emails() -> None:
    """The emails the bookings owe leave from the outbox afterwards, as send_notices does.

    Timed so the work that left the request shows up somewhere (the mail backend is
    the dummy one: everything is rendered, nothing delivered).
    """
    started = time.perf_counter()
    report = notifications.deliver_notices()
    seconds = time.perf_counter() - started
    print(
        f"Confirmation emails then rendered from the outbox by one sender "
        f"(notifications.deliver_notices, in process): {report.sent} in {seconds:.1f} s "
        f"({report.sent / seconds:.0f} per second); failed {report.failed}, "
        f"skipped {report.skipped}."
    )


def _overlaps() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(
                OVERLAPS.format(kind=kind, column=f"{kind}_id")
                for kind in ("therapist", "room", "client")
            )
        )
        rows = cursor.fetchall()
    _title("Overlap check: active appointments sharing a therapist, room or client")
    _table(["shared", "overlapping pairs"], [[kind, str(count)] for kind, count in rows])
    return sum(count for _, count in rows)


def _outcomes(outcomes: Counter) -> str:
    return ", ".join(f"{outcome} x{count}" for outcome, count in sorted(outcomes.items()))


def _title(text: str) -> None:
    print(f"\n== {text}")


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for index, row in enumerate([header, *rows]):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
