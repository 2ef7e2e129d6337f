"""`make bench-scale`: seed a spa chain's five years, then time every page and command.

    .venv/bin/python -m bench.scale.run [--reuse] [--scale 1] [--runs 20] [--only TEXT]
                                        [--out results.md] [--out results.json]

Its own database, spa_booking_scale on the DATABASE_URL server, is dropped and created on
each run (about ten minutes of seeding on two cores), unless --reuse measures the one the
last run left: migrations are applied to it (new indexes too) and it is analysed again.
Production settings (bench.run.environment), pages through django.test.Client with the
whole middleware, logged in as a client with a long history, a therapist and a staff
superuser who gave their second factor.
"""

import argparse
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from bench.run import DEFAULT_URL, create_database, environment

ROOT = Path(__file__).resolve().parent.parent.parent
SCALE_DATABASE = "spa_booking_scale"
STATEMENT_TIMEOUT = "10s"


def main() -> None:
    options = _options().parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    env = scale_environment()
    os.environ.update(env)
    if not options.reuse:
        print(f"Creating the benchmark database {SCALE_DATABASE} (dropped first if it exists).")
        create_database(env["DATABASE_URL"], only=SCALE_DATABASE)
    migrating = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity=0"],
        cwd=ROOT,
        check=True,
    )
    print(f"migrate: {time.perf_counter() - migrating:.1f} s")

    import django

    django.setup()
    from . import seed

    if options.reuse:
        record = seed.seeded()
        if record is None:
            raise SystemExit(f"{SCALE_DATABASE} holds no finished seed: run without --reuse.")
        age = datetime.datetime.now(datetime.UTC) - datetime.datetime.fromisoformat(
            record["seeded_at"]
        )
        print(f"Reusing the chain seeded at {record['seeded_at']} ({age.days} days ago).")
        if age > datetime.timedelta(days=7):
            print("Its upcoming weeks have mostly passed: seed again for figures like the docs'.")
        seed.analyze(report=_step)
    else:
        print(f"\n== Seeding the chain (scale {options.scale:g})")
        record = seed.seed(scale=options.scale, report=_step)
        print(f"Seeded in {record['seconds']:.0f} s.")
    if options.seed_only:
        return
    warmed = time.perf_counter()
    seed.prewarm()
    _step(
        "the chain's tables and indexes read into the OS cache (pg_prewarm)",
        time.perf_counter() - warmed,
    )
    results, facts = benchmark(record, options)
    if any(result.status == "ERROR" for result in results):
        print("\nSome pages failed (ERROR above).")
    print(f"\nmake bench-scale took {time.perf_counter() - started:.0f} s.")


def _options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="measure the last seeded chain")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the chain (1 = full)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per page (20)")
    parser.add_argument(
        "--filter-values", type=int, default=3, help="values of each admin list filter (3)"
    )
    parser.add_argument("--only", help="measure only pages whose role or label contains this")
    parser.add_argument("--seed-only", action="store_true", help="seed, measure nothing")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="with --only: profile the chosen pages (cProfile) instead of timing them",
    )
    parser.add_argument(
        "--out", action="append", default=[], help="also write the tables (.md or .json)"
    )
    return parser


def scale_environment() -> dict[str, str]:
    """bench.run's production settings, on the scale benchmark's own database, with the
    test client's host name allowed."""
    env = environment()
    url = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    env["DATABASE_URL"] = urlunparse(url._replace(path=f"/{SCALE_DATABASE}"))
    env["DJANGO_SETTINGS_MODULE"] = "bench.scale.settings"
    env["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    return env


def _step(label: str, seconds: float) -> None:
    print(f"{seconds:7.1f} s  {label}", flush=True)


def benchmark(record: dict, options) -> tuple[list, dict]:
    """Time every page and periodic command against the seeded chain; print the tables."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    from bench.report import machine

    from . import commands, pages, report
    from .measure import Result, find_big_tables, measure
    from .ratio import PAIRS, measure_ratio
    from .views import create_table

    # A runaway statement (a facet count over millions of rows) fails the page as
    # TIMEOUT instead of holding the run. The test client's requests would close the
    # connection now and then (CONN_MAX_AGE); each new one gets the limit too.
    def limit(connection, **kwargs) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")

    connection_created.connect(limit, weak=False)
    if connection.connection is not None:
        limit(connection)
    create_table()
    big = find_big_tables()

    facts = {
        "Machine": machine(),
        "Tables": report.table_sizes(),
        "Seed": [
            ("seeded at", record["seeded_at"]),
            ("seeding time", f"{record.get('seconds', 0):.0f} s"),
            ("appointments", f"{record['appointments']:,} ({record['cancelled']:,} cancelled)"),
            (
                "persona",
                f"{record['persona']['past']} past and "
                f"{record['persona']['upcoming']} upcoming appointments",
            ),
            ("measured at", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")),
            ("big tables (a Seq Scan on one is flagged)", ", ".join(sorted(big))),
        ],
    }
    for title, rows in facts.items():
        report.print_table(title, ["what", "value"], [list(row) for row in rows])

    people = pages.cast(record)
    browsers = pages.browsers(people)
    site = pages.site_pages(people, runs=options.runs)
    admin = pages.admin_pages(people, browsers["staff"], filter_values=options.filter_values)
    every = site + admin
    missing, skipped = pages.uncovered(every)
    chosen = [
        page
        for page in every
        if not options.only or options.only in page.role or options.only in page.label
    ]
    if options.profile:
        profile_pages(chosen, browsers, runs=options.runs)
        return [], facts
    print(f"\nMeasuring {len(chosen)} pages ({options.runs} runs each, fewer for slow pages).")
    results = []
    for page in chosen:
        browser = browsers[page.role]
        result = Result(page.role, page.label, page.path, page.target_ms, expect=page.expect)

        def call(number: int, page=page, browser=browser):
            if page.prepare is not None:
                return page.prepare(browser, number)
            return lambda: browser.get(page.path)

        runs = min(options.runs, page.runs) if page.runs else options.runs
        results.append(measure(result, call, runs=runs))
        print(
            f"  {result.median_ms:8.1f} ms  {result.queries:3d} q  {result.status:7s} "
            f"{page.role}: {page.label}",
            flush=True,
        )
    if not options.only or "command" in options.only:
        for name, arguments in commands.periodic_commands().items():
            result = commands.measure_command(name, arguments)
            if result.status == "ok":
                result.note = commands.said(name, arguments)
            results.append(result)
            print(f"  {result.median_ms:8.1f} ms  {result.queries:3d} q  command: {name}")
    booking = _labelled(chosen, "booking POST")
    floor = _labelled(chosen, "minimal logged-in insert POST")
    ratio = None
    if booking is not None and floor is not None:
        print(f"\nTiming the booking POST and the floor in turns ({PAIRS} pairs).", flush=True)
        ratio = measure_ratio(booking, floor, browsers[booking.role])
        facts["Booking POST against the floor, timed in turns"] = ratio.facts()
    _forget_bookings()

    report.print_results(results)
    report.slowest_statements(results)
    print()
    for line in report.summary(results, ratio):
        print(line)
    notes = [result for result in results if result.note]
    if notes:
        print("\nNotes:")
        for result in notes:
            print(f"  {result.role}: {result.label}: {result.note}")
    if missing:
        print(f"\nURL patterns no page measures (add them to bench/scale/pages.py): {missing}")
    print("Left out on purpose: " + "; ".join(f"{name} ({why})" for name, why in skipped.items()))
    for path in options.out:
        report.write(path, results, facts, record, ratio)
    return results, facts


def profile_pages(chosen: list, browsers: dict, *, runs: int, top: int = 40) -> None:
    """Where each chosen page's time goes: cProfile over `runs` requests after one
    warm-up, the functions with the most time of their own, then the most in all."""
    import cProfile
    import pstats

    for page in chosen:
        browser = browsers[page.role]

        def request(number: int, page=page, browser=browser):
            action = page.prepare(browser, number) if page.prepare else None
            return action() if action else browser.get(page.path)

        request(0)
        profiler = cProfile.Profile()
        for number in range(1, runs + 1):
            profiler.runcall(request, number)
        print(f"\n== {page.role}: {page.label} ({runs} requests)")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(top)
        # The project's own functions (not the venv's): which of its steps the time is in.
        stats.sort_stats("cumulative").print_stats(rf"^{ROOT}/(?!\.venv/)", top)


def _labelled(pages: list, prefix: str):
    return next((page for page in pages if page.label.startswith(prefix)), None)


def _forget_bookings() -> None:
    """The benchmark's own bookings and inserts go, so a --reuse run finds the chain as
    it was seeded."""
    from django.db import connection

    from .ratio import forget_bookings

    forget_bookings()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_scale_insert")


if __name__ == "__main__":
    main()
