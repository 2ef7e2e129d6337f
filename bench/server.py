"""gunicorn on loopback for the benchmark, and what the machine does while it serves."""

import http.client
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(*, port: int, workers: int, env: dict[str, str]) -> Iterator[Path]:
    """gunicorn serving bench.wsgi on loopback; stopped however the block ends.

    Yields the file gunicorn logs to (deleted afterwards: read it inside the block).
    """
    log = Path(tempfile.mkstemp(prefix="spa-bench-gunicorn-", suffix=".log")[1])
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "bench.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--timeout=60",
        "--graceful-timeout=5",
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output
        )
    try:
        _wait_until_serving(server, port, log)
        yield log
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.unlink(missing_ok=True)


def _wait_until_serving(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 30 seconds:\n{log.read_text()}")


BACKENDS = """
SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),
       count(*) FILTER (WHERE state = 'active' AND wait_event_type IN ('IO', 'LWLock')),
       count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'idle in transaction')
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


@contextmanager
def backend_sampler(every: float = 0.02) -> Iterator[dict[str, float]]:
    """What the server's database sessions are doing, sampled while the block runs.

    Averages: sessions waiting for a row lock, waiting for the disk (mostly the WAL flush
    at commit), running a statement at all, and holding a transaction open between
    statements (Python working inside transaction.atomic).
    """
    averages: dict[str, float] = {}
    stop = threading.Event()

    def sample() -> None:
        rows = []
        try:
            with connections["default"].cursor() as cursor:
                while not stop.is_set():
                    cursor.execute(BACKENDS)
                    rows.append(cursor.fetchone())
                    stop.wait(every)
        finally:
            connections.close_all()
        labels = ("lock wait", "disk wait", "in a statement", "idle in transaction")
        for index, label in enumerate(labels):
            averages[label] = sum(row[index] for row in rows) / max(1, len(rows))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield averages
    finally:
        stop.set()
        sampler.join()


@contextmanager
def cpu_meter() -> Iterator[dict[str, float]]:
    """How busy the machine's CPUs were while the block ran (all processes, from /proc/stat)."""
    shares: dict[str, float] = {}
    before = _cpu_times()
    try:
        yield shares
    finally:
        after = _cpu_times()
        spent = [b - a for a, b in zip(before, after, strict=True)]
        total = sum(spent) or 1
        user, nice, system, idle, iowait = spent[:5]
        shares["busy"] = 1 - (idle + iowait) / total
        shares["user"] = (user + nice) / total
        shares["system"] = (system + sum(spent[5:])) / total


@contextmanager
def process_cpu() -> Iterator[dict[str, float]]:
    """CPU seconds spent while the block ran by gunicorn, by the PostgreSQL sessions of the
    benchmark's database, and by this process (the client threads), from /proc/<pid>/stat.

    PostgreSQL's background processes (WAL writer, checkpointer, autovacuum) and sessions
    of other databases are left out: other work on the machine uses them too. A process
    that starts meanwhile counts from its start; one that ends meanwhile is not counted.
    """
    spent: dict[str, float] = {}
    before = _process_times()
    try:
        yield spent
    finally:
        after = _process_times()
        ticks = os.sysconf("SC_CLK_TCK")
        for group in PROCESS_GROUPS:
            spent[group] = (
                sum(
                    time - before.get(pid, (group, 0))[1]
                    for pid, (g, time) in after.items()
                    if g == group
                )
                / ticks
            )


PROCESS_GROUPS = ("gunicorn", "PostgreSQL", "client threads")


def _process_times() -> dict[int, tuple[str, int]]:
    """pid -> (group, user + system clock ticks so far), for the processes in PROCESS_GROUPS."""
    # A session's title is "postgres: <cluster>: <user> <database> <client> <state>".
    session_of_ours = f" {connections['default'].settings_dict['NAME']} ".encode()
    times = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if pid == os.getpid():
            group = "client threads"
        elif b"gunicorn" in command:
            group = "gunicorn"
        elif command.startswith(b"postgres:") and session_of_ours in command:
            group = "PostgreSQL"
        else:
            continue
        times[pid] = (group, int(fields[11]) + int(fields[12]))  # utime + stime
    return times


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:8]]
