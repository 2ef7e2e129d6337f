"""`make bench`: seed a spa in its own database, time free times, then book over HTTP.

    .venv/bin/python -m bench.run [--bookings 800] [--threads 8] [--workers 4]

The benchmark database (spa_booking_bench on the DATABASE_URL server) is dropped and
created on every run; the development and test databases are never touched.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/spa_booking"
BENCH_DATABASE = "spa_booking_bench"
BOOKED_TREATMENTS = ("ashiatsu-60", "swedish-60")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=800, help="booking form posts (800)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent HTTP clients (8)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn sync workers (2 per CPU core)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds of bookings, then bare inserts (4)"
    )
    parser.add_argument("--repetitions", type=int, default=50, help="free-time runs each (50)")
    options = parser.parse_args()
    # Stopped from outside: still run the finally blocks that stop gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()

    env = environment()
    os.environ.update(env)
    print(f"Creating the benchmark database {BENCH_DATABASE} (dropped first if it exists).")
    create_database(env["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity=0"],
        cwd=ROOT,
        check=True,
    )

    import django

    django.setup()
    from . import report

    report.run(options=options, env=env, booked_treatments=BOOKED_TREATMENTS)
    print(f"\nmake bench took {time.perf_counter() - started:.0f} s.")


def environment() -> dict[str, str]:
    """Production settings over plain HTTP, on the benchmark's own database.

    The database is DATABASE_URL's server (the development default if unset) with the
    name spa_booking_bench.
    """
    url = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    return {
        "DATABASE_URL": urlunparse(url._replace(path=f"/{BENCH_DATABASE}")),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        "SPA_ENCRYPTION_KEYS": "c3BhLWJvb2tpbmctYmVuY2htYXJrLW9ubHkta2V5ISE=",
        "DJANGO_DEBUG": "off",
        "DJANGO_HTTPS": "off",
        "DJANGO_STATIC_MANIFEST": "off",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def create_database(url: str, *, only: str = BENCH_DATABASE) -> None:
    """Drop and create the database of `url`, which must be named `only`."""
    import psycopg2
    from psycopg2 import sql

    parts = urlparse(url)
    database = parts.path.lstrip("/")
    if database != only:  # the only database this script ever drops
        raise SystemExit(f"Refusing to drop {database!r}.")
    connection = psycopg2.connect(
        dbname="postgres",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        name = sql.Identifier(database)
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    connection.close()


if __name__ == "__main__":
    main()
