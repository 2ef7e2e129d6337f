"""The periodic commands, each timed as one pass over the chain's data.

Each run is rolled back, so every run finds the same work (the holds to release, the
reminders and notices owed, the sessions expired): what one pass of cron costs on a
database of this size, not the first pass after years of nobody running it.
"""

import contextlib
from io import StringIO

from django.core.management import call_command, get_commands
from django.db import transaction
from django.db.models import Min
from django.test import override_settings
from django.utils import timezone

from .measure import Result, measure

# Always measured; a missing one is reported, not an error.
PERIODIC = ["release_expired_holds", "send_reminders", "send_notices", "purge_health_records"]
# Retention commands of the libraries, with the arguments a cron line would give them.
RETENTION = {
    "clearsessions": [],
    "axes_reset_logs": [],  # access logs older than 30 days
    "axes_reset_failure_logs": [],
}
COMMAND_RUNS = 5


def periodic_commands() -> dict[str, list[str]]:
    """The project's periodic and retention commands that exist now: the named ones, and
    any named like a retention job (purge_*, clear*, *retention*, prune*)."""
    available = get_commands()
    found = {}
    for name in PERIODIC:
        found[name] = []
    for name in sorted(available):
        if name.startswith(("purge_", "clear", "prune")) or "retention" in name:
            found.setdefault(name, [])
    for name, arguments in RETENTION.items():
        if name in available:
            found[name] = arguments
    return found


def steady_state(name: str):
    """The settings under which one pass of `name` does a day's work on the seeded chain.

    The seed keeps five years of the outbox (2.2 million notices, as a spa that never
    purged it would have). Run with the default retention (90 days), purge_sent_notices
    would delete nearly all of it: the first pass, not the daily one. So it runs as if the
    spa kept its outbox for as long as its oldest sent notice, less a day: each pass
    deletes about one day's notices, from a table of the chain's size."""
    if name != "purge_sent_notices":
        return contextlib.nullcontext()
    from appointments.models import Notice

    oldest = Notice.objects.aggregate(first=Min("sent_at"))["first"]
    if oldest is None:
        return contextlib.nullcontext()
    kept = max(1, (timezone.now() - oldest).days - 1)
    return override_settings(SPA_SENT_NOTICE_RETENTION_DAYS=kept)


def measure_command(name: str, arguments: list[str], *, runs: int = COMMAND_RUNS) -> Result:
    result = Result(
        "command", name, f"manage.py {' '.join([name, *arguments])}", target_ms=1e9, expect="ok"
    )
    if name not in get_commands():
        result.status, result.note = "MISSING", "no such command in this version"
        return result

    def call(_number: int):
        def run():
            output = StringIO()
            with steady_state(name), transaction.atomic():
                call_command(name, *arguments, stdout=output, stderr=output)
                transaction.set_rollback(True)
            return output.getvalue()

        return run

    measure(result, call, runs=runs, check=lambda output: "ok")
    return result


def said(name: str, arguments: list[str]) -> str:
    """What one pass reports (rolled back), for the table's notes."""
    output = StringIO()
    with steady_state(name), transaction.atomic():
        call_command(name, *arguments, stdout=output, stderr=output)
        transaction.set_rollback(True)
    return " ".join(output.getvalue().split())[:120]
