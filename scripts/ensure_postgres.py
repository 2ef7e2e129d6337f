#!/usr/bin/env python3
"""Make sure a PostgreSQL server answers at DATABASE_URL and its database exists.

In order: use the server that already answers; else start the machine's own
cluster (pg_ctlcluster, as root); else start a private cluster under .data/
with the machine's PostgreSQL binaries; else say in one sentence what to do.
Then create the database if it is missing. Uses only the standard library and
psycopg2 (installed in .venv before this runs).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/spa_booking"
PRIVATE_DIR = ROOT / ".data" / "postgres"


def fail(sentence: str) -> None:
    print(f"\n{sentence}\n", file=sys.stderr)
    sys.exit(1)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(0.3)
    return False


def pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def start_system_cluster(host: str, port: int) -> bool:
    """Start a cluster that Debian's postgresql-common knows about (CI runs as root)."""
    if os.geteuid() != 0 or not shutil.which("pg_lsclusters"):
        return False
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            version, name = fields[0], fields[1]
            print(f"Starting the machine's PostgreSQL {version}/{name} cluster on port {port}.")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
                check=False,
            )
            return wait_for(host, port)
    return False


def start_private_cluster(host: str, port: int, user: str) -> bool:
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        return False
    # PostgreSQL refuses to run as root; as root, run it as the postgres user.
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            fail(
                "PostgreSQL cannot run as root and this machine has no 'postgres' user: "
                "run `make` as an ordinary user, or set DATABASE_URL to a running server."
            )
        run_as = ["runuser", "-u", "postgres", "--"]
    PRIVATE_DIR.mkdir(parents=True, exist_ok=True)
    if run_as:
        shutil.chown(PRIVATE_DIR.parent, owner.pw_name)
        shutil.chown(PRIVATE_DIR, owner.pw_name)
    if not (PRIVATE_DIR / "PG_VERSION").exists():
        print(f"Creating a private PostgreSQL cluster in {PRIVATE_DIR}.")
        subprocess.run(
            [*run_as, initdb, "-D", str(PRIVATE_DIR), "-U", user, "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    print(f"Starting the private PostgreSQL cluster on {host}:{port}.")
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(PRIVATE_DIR),
            "-l",
            str(PRIVATE_DIR / "server.log"),
            "-o",
            f"-p {port} -k {PRIVATE_DIR} -c listen_addresses={host}",
            "-w",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return wait_for(host, port)


def ensure_database(url) -> None:
    import psycopg2
    from psycopg2 import sql

    name = unquote(url.path.lstrip("/"))
    params = {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": unquote(url.username) if url.username else "postgres",
        "password": unquote(url.password) if url.password else None,
    }
    try:
        connection = psycopg2.connect(dbname="postgres", **params)
    except psycopg2.OperationalError as error:
        fail(f"PostgreSQL at {params['host']}:{params['port']} refused us: {error}".strip())
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"Creating the database {name}.")
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def main() -> None:
    url = urlparse(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    if url.scheme not in ("postgres", "postgresql", "pgsql"):
        fail(f"DATABASE_URL must be a postgres:// URL, not {url.scheme}://.")
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    user = unquote(url.username) if url.username else "postgres"
    if not answers(host, port):
        local = host in ("127.0.0.1", "localhost", "::1")
        if not local:
            fail(
                f"No PostgreSQL answers at {host}:{port}: start it, "
                "or set DATABASE_URL to a server that runs."
            )
        started = start_system_cluster(host, port) or start_private_cluster(host, port, user)
        if not started:
            fail(
                "No PostgreSQL answers at DATABASE_URL and none is installed here: install it "
                "(Debian/Ubuntu: sudo apt-get install postgresql) "
                "or set DATABASE_URL to a running server."
            )
    if "--server-only" not in sys.argv:
        ensure_database(url)


if __name__ == "__main__":
    main()
