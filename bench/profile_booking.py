"""Where a booking's time goes: booking form posts in process, timed part by part, profiled.

    .venv/bin/python -m bench.profile_booking [--bookings 100] [--top 30] [--save FILE]

Runs against the database the last `make bench` left behind (spa_booking_bench): deletes
what that run booked over HTTP, then books free times through Django's test client, with no
HTTP server and no concurrency, so each part's cost shows on its own. Then it profiles more
posts with cProfile.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack, contextmanager

from .run import environment

BOOKED_TREATMENTS = ("ashiatsu-60", "swedish-60")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100, help="booking posts timed (100)")
    parser.add_argument("--top", type=int, default=30, help="profile lines printed (30)")
    parser.add_argument("--save", help="also write the cProfile data here, for pstats")
    options = parser.parse_args()
    os.environ.update(environment())
    # Django's test client calls itself "testserver".
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,testserver"

    import django

    django.setup()
    from django.contrib import auth
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.test import Client as Browser

    from appointments import availability, free_times, services
    from appointments.models import Appointment, Treatment
    from appointments.services import locking, outbox
    from clients.backends import BACKEND
    from clients.models import Client

    from .plan import plan_bookings, post_form

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise SystemExit("The benchmark database is behind the code: run `make bench` first.")
    # The times `make bench` booked over HTTP are free again: the seeded spa as it was.
    Appointment.objects.filter(booking_token__isnull=False).delete()
    treatments = [Treatment.objects.get(slug=slug) for slug in BOOKED_TREATMENTS]
    clients = list(Client.objects.select_related("user"))
    warmup = 10
    plan = plan_bookings(
        treatments=treatments, clients=clients, count=2 * (options.bookings + warmup), seed=11
    )
    users = {client.pk: client.user for client in clients}
    forms = []
    for booking in plan:
        browser = Browser()
        browser.force_login(users[booking.client_id], backend=BACKEND)
        page = browser.get(f"{booking.path}?{booking.query}")
        forms.append((browser, booking.path, post_form(page.content)))
    half = len(forms) // 2
    if half <= warmup:
        raise SystemExit("Too few free times left: run `make bench` again first.")

    def post(browser, path: str, data: dict) -> None:
        response = browser.post(path, data)
        if response.status_code != 302:
            raise SystemExit(f"A booking was refused ({response.status_code}): {path} {data}")

    parts: dict[str, list[float]] = defaultdict(list)
    queries: list[int] = []
    timers = {
        "django.contrib.auth.get_user (session and user)": (auth, "get_user"),
        "services.book_appointment (the whole service call)": (services, "book_appointment"),
        "free_times.slots_at (the booked start, with its queries)": (free_times, "slots_at"),
        "  of which availability.free_slots (pure)": (availability, "free_slots"),
        "locking.lock_people (lock timeout + therapist and client locks)": (
            locking,
            "lock_people",
        ),
        "outbox.owe_notice (the confirmation email, into the outbox)": (
            outbox,
            "owe_notice",
        ),
    }
    for number, (browser, path, data) in enumerate(forms[:half]):
        spent: dict[str, float] = defaultdict(float)
        counter = _Queries()
        with ExitStack() as stack:
            for label, (module, name) in timers.items():
                stack.enter_context(_timed(module, name, spent, label))
            stack.enter_context(connection.execute_wrapper(counter))
            started = time.perf_counter()
            post(browser, path, data)
            total = time.perf_counter() - started
        if number >= warmup:
            parts["whole booking POST"].append(total)
            parts["SQL (inside cursor.execute)"].append(counter.seconds)
            queries.append(counter.count)
            for label in timers:
                parts[label].append(spent[label])
    bare = Browser()
    bare_times = []
    for number in range(200 + warmup):
        started = time.perf_counter()
        bare.post("/bench/insert/")
        if number >= warmup:
            bare_times.append(time.perf_counter() - started)

    timed = len(parts["whole booking POST"])
    print(f"\n== A booking POST in process: median of {timed} (test client, no HTTP)")
    width = max(len(label) for label in parts)
    for label, values in parts.items():
        print(f"{label.ljust(width)}  {statistics.median(values) * 1000:7.2f} ms")
    print(f"{'queries per booking'.ljust(width)}  {statistics.median(queries):7.0f}")
    bare_ms = statistics.median(bare_times) * 1000
    print(f"{'bare insert POST, for comparison'.ljust(width)}  {bare_ms:7.2f} ms")

    profile = cProfile.Profile()
    for browser, path, data in forms[half:]:
        profile.enable()
        post(browser, path, data)
        profile.disable()
    if options.save:
        profile.dump_stats(options.save)
    print(f"\n== cProfile of {len(forms) - half} more booking POSTs, by cumulative time")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(options.top)


class _Queries:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


@contextmanager
def _timed(module, name: str, spent: dict[str, float], label: str):
    """Time every call of module.name (looked up at call time by its callers)."""
    original = getattr(module, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, original)


if __name__ == "__main__":
    main()
