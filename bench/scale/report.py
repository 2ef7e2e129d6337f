"""The scale benchmark's tables: printed, and optionally written as JSON and Markdown."""

import json
from pathlib import Path

from django.db import connection

from .measure import STATEMENT_TARGET_MS, Result
from .ratio import Ratio

ROLES = ["guest", "client", "therapist", "staff", "command"]
MANY_ROWS = 100_000  # a page reading this many rows is worth a look, whatever its time
HEADER = [
    "page",
    "status",
    "queries",
    "median ms",
    "p95 ms",
    "runs",
    "slowest SQL ms",
    "rows (slowest)",
    "rows (all SQL)",
    "seq scan on",
    "verdict",
]


def table_sizes() -> list[tuple[str, str]]:
    tables = [
        "appointments_appointment",
        "appointments_notice",
        "screening_healthscreening",
        "appointments_presessioncheck",
        "clients_client",
        "clients_user",
        "clients_accessrecord",
        "django_session",
        "axes_accesslog",
        "appointments_therapist",
        "appointments_room",
    ]
    with connection.cursor() as cursor:
        rows = []
        for table in tables:
            cursor.execute(
                "SELECT reltuples::bigint, pg_total_relation_size(oid) FROM pg_class "
                "WHERE oid = %s::regclass",
                [table],
            )
            count, size = cursor.fetchone()
            rows.append((table, f"{count:,} rows, {size / 2**20:,.0f} MiB with indexes"))
    return rows


def _row(result: Result) -> list[str]:
    problems = result.problems
    if result.rows_read >= MANY_ROWS:
        problems = [*problems, "many rows"]
    timed = result.runs > 0
    return [
        result.label,
        result.status,
        str(result.queries) if timed else "",
        f"{result.median_ms:.1f}" if timed else "",
        f"{result.p95_ms:.1f}" if timed else "",
        str(result.runs),
        f"{result.slowest_ms:.1f}" if result.slowest_ms else "",
        f"{result.slowest_rows:,}" if timed else "",
        f"{result.rows_read:,}" if timed else "",
        ", ".join(name.split("_", 1)[1] for name in result.seq_scans),
        ", ".join(problems) or "ok",
    ]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n== {title}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for index, row in enumerate([header, *rows]):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def print_results(results: list[Result]) -> None:
    for role in ROLES:
        chosen = [result for result in results if result.role == role]
        if not chosen:
            continue
        target = chosen[0].target_ms
        goal = "no time target" if role == "command" else f"median under {target:.0f} ms"
        print_table(
            f"{role} ({goal}; every statement under {STATEMENT_TARGET_MS} ms)",
            HEADER,
            [_row(result) for result in chosen],
        )


def summary(results: list[Result], ratio: Ratio | None = None) -> list[str]:
    lines = []
    failing = [result for result in results if result.problems]
    lines.append(
        f"{len(results)} pages and commands measured; {len(results) - len(failing)} meet every "
        f"target, {len(failing)} do not."
    )
    timeouts = [result.label for result in results if result.status == "TIMEOUT"]
    if timeouts:
        lines.append(f"Timed out: {'; '.join(timeouts)}.")
    if ratio is not None:
        lines.append(ratio.line())
    return lines


def slowest_statements(results: list[Result], count: int = 15) -> None:
    ranked = sorted(
        (result for result in results if result.slowest_ms >= STATEMENT_TARGET_MS),
        key=lambda result: -result.slowest_ms,
    )[:count]
    if not ranked:
        return
    print(f"\n== The slowest statements over {STATEMENT_TARGET_MS} ms (page: SQL)")
    for result in ranked:
        print(f"{result.slowest_ms:8.1f} ms  {result.role}: {result.label}")
        print(f"             {result.slowest_sql[:400]}")


def markdown(
    results: list[Result], facts: dict[str, list[tuple[str, str]]], ratio: Ratio | None = None
) -> str:
    lines = []
    for title, rows in facts.items():
        lines += [f"#### {title}", "", "| what | value |", "| --- | --- |"]
        lines += [f"| {what} | {value} |" for what, value in rows]
        lines.append("")
    for role in ROLES:
        chosen = [result for result in results if result.role == role]
        if not chosen:
            continue
        lines += [f"#### {role}", ""]
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("| --- | --- |" + " ---: |" * (len(HEADER) - 4) + " --- | --- |")
        for result in chosen:
            cells = [cell.replace("|", "\\|") for cell in _row(result)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"- {line}" for line in summary(results, ratio)]
    return "\n".join(lines) + "\n"


def write(
    path: str, results: list[Result], facts: dict, record: dict, ratio: Ratio | None = None
) -> None:
    target = Path(path)
    if target.suffix == ".json":
        document = {
            "facts": facts,
            "seed": record,
            "results": [result.as_dict() for result in results],
        }
        target.write_text(json.dumps(document, indent=2, default=str) + "\n")
    else:
        target.write_text(markdown(results, facts, ratio))
    print(f"Wrote {target}.")
