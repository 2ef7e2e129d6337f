"""Timing one page or command: server time, its SQL statements, and what their plans read.

Every statement goes through `connection.execute_wrapper`, so the count, each statement's
time and its parameters are known. After the timed runs, each distinct statement of the
last run is run once more under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), in a transaction
that is rolled back: its scan nodes say how many rows it read, and whether it read a big
table from end to end (a Seq Scan).
"""

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import DatabaseError, OperationalError, connection, transaction
from psycopg2 import errors

# Tables that grow with the history: a Seq Scan on one of them, once it holds BIG_ROWS
# rows or more, reads it all (on a smaller one the planner rightly prefers a Seq Scan).
GROWING_TABLES = {
    "appointments_appointment",
    "appointments_notice",
    "appointments_presessioncheck",
    "appointments_timeoff",
    "appointments_waitlistentry",
    "clients_client",
    "clients_user",
    "clients_accessrecord",
    "screening_healthscreening",
    "screening_screeningdecision",
    "django_session",
    "django_admin_log",
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accesslog",
    "axes_accessfailurelog",
}
BIG_ROWS = 10_000
# The big tables, with their rows (the planner's estimate).
big_tables: dict[str, float] = {}
STATEMENT_TARGET_MS = 50
PAGE_BUDGET_SECONDS = 3.0  # a slow page is run fewer times, so the whole run stays bounded
EXPLAINED = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "EXECUTE")
MAX_EXPLAINS = 60  # distinct statements explained per page


@dataclass
class Statement:
    sql: str
    params: object
    many: bool
    seconds: float


class Recorder:
    """An execute_wrapper that keeps every statement with its time."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append(Statement(sql, params, many, time.perf_counter() - started))


@dataclass
class Result:
    role: str
    label: str
    path: str
    target_ms: float
    expect: str = "200"
    status: str = ""  # the HTTP status, "TIMEOUT", "ERROR", or "ok" for a command
    runs: int = 0
    queries: int = 0
    median_ms: float = 0.0
    p95_ms: float = 0.0
    slowest_ms: float = 0.0
    slowest_sql: str = ""
    slowest_rows: int = 0
    rows_read: int = 0
    seq_scans: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def problems(self) -> list[str]:
        if self.status in ("TIMEOUT", "ERROR"):
            return [self.status]
        found = [] if self.status == self.expect else [f"status {self.status}"]
        if self.median_ms >= self.target_ms:
            found.append("slow")
        if self.slowest_ms >= STATEMENT_TARGET_MS:
            found.append("slow SQL")
        if self.seq_scans:
            found.append("seq scan")
        return found

    def as_dict(self) -> dict:
        return {**asdict(self), "problems": self.problems}


def _timed_out(error: BaseException) -> bool:
    cause = error
    while cause is not None:
        if isinstance(cause, errors.QueryCanceled):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def measure(
    result: Result,
    call: Callable[[int], Callable[[], object]],
    *,
    runs: int,
    check: Callable[[object], str] = lambda response: str(response.status_code),
) -> Result:
    """`call(n)` prepares run n (untimed) and returns the timed action. One warm-up run,
    then up to `runs` timed ones (fewer for a slow page)."""
    times: list[float] = []
    recorded: list[list[Statement]] = []
    total = runs + 1
    number = 0
    while number < total:
        action = call(number)
        recorder = Recorder()
        started = time.perf_counter()
        try:
            with connection.execute_wrapper(recorder):
                outcome = action()
        except Exception as error:  # a page that fails is a finding, not the end of the run
            result.status = "TIMEOUT" if _timed_out(error) else "ERROR"
            result.note = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            if connection.in_atomic_block:
                raise
            connection.close()  # a fresh connection for the next page
            _slowest_of([recorder.statements], result)
            return result
        seconds = time.perf_counter() - started
        result.status = check(outcome)
        if number == 0:
            # Slow pages get fewer runs: at least one timed run, within the page budget.
            total = 1 + max(1, min(runs, int(PAGE_BUDGET_SECONDS / max(seconds, 1e-4))))
        else:
            times.append(seconds)
            recorded.append(recorder.statements)
        number += 1
    result.runs = len(times)
    result.median_ms = statistics.median(times) * 1000
    result.p95_ms = _percentile(times, 0.95) * 1000
    result.queries = len(recorded[-1])
    _slowest_of(recorded, result)
    _explain(recorded[-1], result)
    return result


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def _slowest_of(recorded: list[list[Statement]], result: Result) -> None:
    """The statement with the highest median time over the runs."""
    by_sql: dict[str, list[float]] = defaultdict(list)
    for statements in recorded:
        for statement in statements:
            by_sql[statement.sql].append(statement.seconds)
    if not by_sql:
        return
    sql, seconds = max(by_sql.items(), key=lambda item: statistics.median(item[1]))
    result.slowest_ms = statistics.median(seconds) * 1000
    result.slowest_sql = " ".join(sql.split())


def _explain(statements: list[Statement], result: Result) -> None:
    """Rows read by each statement of the run (EXPLAIN ANALYZE), and big-table seq scans."""
    seen: dict[tuple[str, str], int] = {}
    rows_by_sql: dict[str, int] = {}
    seq_scans: set[str] = set()
    for statement in statements:
        if statement.many or not statement.sql.lstrip().upper().startswith(EXPLAINED):
            continue
        key = (statement.sql, repr(statement.params))
        if key not in seen:
            if len(seen) >= MAX_EXPLAINS:
                seen[key] = rows_by_sql.get(statement.sql, 0)
            else:
                seen[key] = 0
                for sql, params in _batch(statement.sql, statement.params):
                    plan = explain(sql, params)
                    if plan is None:
                        result.note = result.note or "an EXPLAIN timed out"
                    else:
                        seen[key] += rows_read(plan)
                        seq_scans |= big_seq_scans(plan)
            rows_by_sql[statement.sql] = max(rows_by_sql.get(statement.sql, 0), seen[key])
        result.rows_read += seen[key]
    result.slowest_rows = rows_by_sql.get(_raw(statements, result.slowest_sql), 0)
    result.seq_scans = sorted(seq_scans)


def _raw(statements: list[Statement], flat: str) -> str:
    for statement in statements:
        if " ".join(statement.sql.split()) == flat:
            return statement.sql
    return ""


def _batch(sql: str, params) -> list[tuple[str, object]]:
    """The statements of a batch sent in one round trip ("...;\n..."), each with its
    parameters: EXPLAIN takes one statement at a time."""
    parts = sql.split(";\n")
    if len(parts) == 1 or not isinstance(params, list | tuple):
        return [(sql, params)]
    batch, taken = [], 0
    for part in parts:
        count = part.count("%s")
        batch.append((part, list(params[taken : taken + count])))
        taken += count
    return batch


def explain(sql: str, params) -> dict | None:
    """The statement's plan as run (EXPLAIN ANALYZE), rolled back; None if it timed out."""
    try:
        document = _plan(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
    except OperationalError as error:
        if _timed_out(error):
            return None
        raise
    except DatabaseError:
        # A write that cannot run twice (its row is there now): the plan without running
        # it still shows its scans, without the rows they read.
        document = _plan(f"EXPLAIN (FORMAT JSON) {sql}", params)
    if isinstance(document, str):
        document = json.loads(document)
    return document[0]


def _plan(explain_sql: str, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(explain_sql, params)
        document = cursor.fetchone()[0]
        transaction.set_rollback(True)
    return document


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def rows_read(document: dict) -> int:
    """Rows the scans of a table read: returned plus removed by filters, times loops."""
    total = 0
    for node in _nodes(document["Plan"]):
        if node["Node Type"].endswith("Scan") and "Relation Name" in node:
            rows = (
                node.get("Actual Rows", 0)
                + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)
            )
            total += int(rows * node.get("Actual Loops", 1))
    return total


def find_big_tables() -> set[str]:
    """The growing tables that hold BIG_ROWS rows or more now (the planner's estimate)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s) "
            "AND reltuples >= %s",
            [sorted(GROWING_TABLES), BIG_ROWS],
        )
        found = dict(cursor.fetchall())
    big_tables.clear()
    big_tables.update(found)
    return set(found)


def big_seq_scans(document: dict) -> set[str]:
    """The big tables a Seq Scan read from end to end. A Seq Scan that a LIMIT stopped
    before half the table (a count capped at COUNT_LIMIT + 1 rows, say) read a bounded
    part: its rows still count in rows read, where a growing read would show."""
    return {
        node["Relation Name"]
        for node in _nodes(document["Plan"])
        if node["Node Type"] == "Seq Scan"
        and node.get("Relation Name") in big_tables
        and _scanned(node) >= big_tables[node["Relation Name"]] / 2
    }


def _scanned(node: dict) -> float:
    return (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get(
        "Actual Loops", 1
    )
