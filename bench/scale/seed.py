"""A spa chain's history, loaded the way a restore loads a dump.

Full size: 430 therapists, 180 rooms, 100,000 clients, about 2,048,000 appointments over
five years back and two months ahead, 286,000 health screenings, 2.2 million outbox rows,
and the sessions, login records and access audit such a site accumulates. `--scale`
shrinks every count (the smoke test seeds a thousandth).

Runs after `manage.py migrate` on an empty database. Each step prints its time.
"""

import datetime
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import connection, transaction
from django.utils import timezone

from . import history, people, traces
from .restore import defer, reset_sequence, restore

YEARS_BACK = 5
DAYS_AHEAD = 60  # the booking horizon: nobody books further ahead
MARKER = "bench_scale_seed"

# Loaded with COPY, their indexes and constraints built afterwards.
BIG_TABLES = [
    "clients_user",
    "clients_client",
    "screening_healthscreening",
    "screening_screeningdecision",
    "appointments_appointment",
    "appointments_notice",
    "appointments_presessioncheck",
    "appointments_waitlistentry",
    "appointments_waitlistoffer",
    "clients_accessrecord",
    "django_session",
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accesslog",
    "django_admin_log",
]
# Their identity sequences continue after the ids the seed chose.
WITH_CHOSEN_IDS = [
    table
    for table in BIG_TABLES
    if table not in ("django_session", "axes_accessattemptexpiration")  # no id column
]


@dataclass(frozen=True)
class Size:
    therapists: int
    rooms: int
    clients: int
    appointments: int
    screenings: int
    notices: int
    access_records: int
    sessions: int
    login_attempts: int
    login_logs: int
    waitlist: int
    admin_log: int

    @classmethod
    def chain(cls, scale: float = 1.0) -> "Size":
        def count(full: int, least: int) -> int:
            return max(least, round(full * scale))

        return cls(
            therapists=count(430, 8),
            rooms=count(180, 6),
            clients=count(100_000, 60),
            appointments=count(2_048_000, 300),
            screenings=count(286_000, 100),
            notices=count(2_200_000, 330),
            access_records=count(500_000, 50),
            sessions=count(100_000, 20),
            login_attempts=count(5_000, 5),
            login_logs=count(300_000, 30),
            waitlist=count(3_000, 10),
            admin_log=count(200_000, 20),
        )


# The client the benchmark logs in as: a regular for years.
PERSONA = {
    "client": 1,
    "name": "Ana Lindqvist",
    "past": 300,
    "offer_token": "bench-scale-persona-offer-token",
}


def seed(*, scale: float = 1.0, rng_seed: int = 2026, report: Callable[[str, float], None]):
    """Fill the freshly migrated database. Returns the seed's record (see `seeded`)."""
    size = Size.chain(scale)
    rng = random.Random(rng_seed)
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today.replace(year=today.year - YEARS_BACK, day=min(today.day, 28))
    last_day = today + datetime.timedelta(days=DAYS_AHEAD)
    started = time.perf_counter()

    def step(label: str, since: float) -> float:
        report(label, time.perf_counter() - since)
        return time.perf_counter()

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    mark = time.perf_counter()
    with transaction.atomic():
        cat = people.catalogue(size.rooms)
    deferred = defer(BIG_TABLES)
    mark = step("catalogue and rooms; indexes and constraints of the big tables dropped", mark)
    staff, therapist_users, minors, _ = people.users_and_clients(
        rng=rng, size=size, now=now, first_day=first_day, persona=PERSONA
    )
    mark = step(
        f"{len(therapist_users) + 5 + size.clients:,} users, {size.clients:,} clients", mark
    )
    with transaction.atomic():
        people.groups_and_devices(staff, therapist_users)
        plans = people.therapists(
            rng=rng, therapist_users=therapist_users, cat=cat, today=today, first_day=first_day
        )
    mark = step(f"{len(plans)} therapists: hours, qualifications, time off, second factors", mark)
    screenings = people.screenings(
        rng=rng,
        size=size,
        now=now,
        first_day=first_day,
        staff=staff,
        minors=minors,
        persona=PERSONA,
    )
    mark = step(f"{sum(len(ids) for ids in screenings.ids.values()):,} screenings", mark)
    outbox = history.Outbox(rng, now)
    made = history.write(
        rng=rng,
        size=size,
        now=now,
        first_day=first_day,
        last_day=last_day,
        cat=cat,
        plans=plans,
        screenings=screenings,
        minors=minors,
        persona=PERSONA,
        outbox=outbox,
    )
    mark = step(
        f"{made.active + made.cancelled:,} appointments ({made.cancelled:,} cancelled), "
        f"their notices and pre-session checks",
        mark,
    )
    first_client_user = therapist_users[-1] + 1
    traces.waitlist(
        rng=rng,
        count=size.waitlist,
        now=now,
        cat=cat,
        clients=size.clients,
        persona=PERSONA,
        outbox=outbox,
    )
    traces.other_notices(
        rng=rng,
        outbox=outbox,
        target=size.notices,
        screenings=screenings,
        first_client_user=first_client_user,
        clients=size.clients,
        now=now,
    )
    notices = outbox.close()
    mark = step(f"waitlist, decision and account emails: {notices:,} notices in all", mark)
    traces.sessions(rng=rng, count=size.sessions, now=now)
    traces.logins(
        rng=rng,
        attempts=size.login_attempts,
        logs=size.login_logs,
        now=now,
        clients=size.clients,
    )
    traces.access_records(
        rng=rng,
        count=size.access_records,
        now=now,
        clients=size.clients,
        therapist_users=therapist_users,
        staff=staff,
    )
    traces.admin_log(
        rng=rng,
        count=size.admin_log,
        now=now,
        staff=staff,
        last_ids={
            "appointment": made.active + made.cancelled,
            "client": size.clients,
            "healthscreening": max(max(ids) for ids in screenings.ids.values() if ids),
            "therapist": max(plan.therapist_id for plan in plans),
        },
        persona_client=PERSONA["client"],
    )
    with transaction.atomic():
        traces.privacy_requests(rng=rng, staff=staff, clients=size.clients, now=now)
    mark = step("sessions, login records, access records, admin history, privacy requests", mark)
    restore(deferred, report=report)
    for table in WITH_CHOSEN_IDS:
        reset_sequence(table)
    mark = time.perf_counter()
    refused = check_back_walking_adults()
    if refused:
        raise RuntimeError(f"{refused} back-walking appointments break the adult rule.")
    mark = step("back-walking adult rule checked over every active appointment", mark)
    record = {
        "seeded_at": now.isoformat(),
        "scale": scale,
        "size": asdict(size),
        "appointments": made.active + made.cancelled,
        "cancelled": made.cancelled,
        "held": made.held,
        "past_fill": round(made.past_fill, 3),
        "notices": notices,
        "persona": {**PERSONA, "past": made.persona_past, "upcoming": made.persona_upcoming},
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
    }
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (record jsonb NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [json.dumps(record)])
    analyze(report=report)
    record["seconds"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {MARKER} SET record = %s", [json.dumps(record)])
    return record


def prewarm() -> None:
    """Read every table and index of the chain into the operating system's cache, as a
    database server that has been up a while has them: the first pages measured would
    otherwise pay for reading cold blocks from disk (a few gigabytes; shared_buffers holds
    128 MB), and measure the disk rather than the page."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        cursor.execute(
            "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't', 'm')"
        )


def analyze(*, report: Callable[[str, float], None]) -> None:
    """Fresh statistics (and, outside a transaction, the visibility map for index-only
    scans), as a database that has been running a while has them."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("ANALYZE")
            report("ANALYZE", time.perf_counter() - started)
        else:
            cursor.execute("VACUUM ANALYZE")
            report("VACUUM ANALYZE", time.perf_counter() - started)


def seeded() -> dict | None:
    """The record `seed` left in the database, or None if it holds no finished seed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT record FROM {MARKER}")
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def check_back_walking_adults() -> int:
    """The rule of the trigger appointments_appointment_back_walking_adult, which was off
    while loading, over every row: active back-walking appointments whose client was under
    18 on the appointment's day or on the day it was booked."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*)
            FROM appointments_appointment a
            JOIN appointments_treatment t ON t.id = a.treatment_id
            JOIN clients_client c ON c.id = a.client_id
            WHERE a.status IN ('confirmed', 'pending_review') AND t.is_back_walking
              AND (spa_age_on(c.date_of_birth, (a.starts_at AT TIME ZONE spa_time_zone())::date)
                   < 18
                OR spa_age_on(c.date_of_birth, (a.created_at AT TIME ZONE spa_time_zone())::date)
                   < 18)
            """
        )
        return cursor.fetchone()[0]
