"""Bulk loading as pg_restore does it: rows first, then indexes, constraints and triggers.

A big table takes its rows fastest with nothing to maintain: COPY into the bare table,
then build each index once, then add the foreign keys (one join each). The exclusion
constraints are rebuilt from their own definitions (pg_get_constraintdef), so creating
them again checks every loaded row: the seed cannot hold an overlap PostgreSQL would
have refused. Triggers are switched off while loading and their rule checked after as
one query (seed.check_back_walking_adults), since re-enabling a trigger checks nothing.
"""

import datetime
import io
import time
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Deferred:
    """What a table gives up while it is loaded: its indexes and non-check constraints."""

    table: str
    indexes: list[str]  # CREATE INDEX statements
    constraints: list[tuple[str, str]]  # (name, definition): unique and exclusion
    foreign_keys: list[tuple[str, str]]  # (name, definition)


def defer(tables: list[str]) -> list[Deferred]:
    """Drop every index but the primary key, and every unique, exclusion and foreign-key
    constraint, of `tables`; switch off their triggers. Returns what to put back."""
    deferred = []
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending would make ALTER TABLE refuse.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(
                """
                SELECT conname, contype, pg_get_constraintdef(oid)
                FROM pg_constraint
                WHERE conrelid = %s::regclass AND contype IN ('u', 'x', 'f')
                ORDER BY conname
                """,
                [table],
            )
            rows = cursor.fetchall()
            constraints = [(name, definition) for name, kind, definition in rows if kind != "f"]
            foreign_keys = [(name, definition) for name, kind, definition in rows if kind == "f"]
            cursor.execute(
                """
                SELECT pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                  )
                ORDER BY i.indexrelid
                """,
                [table],
            )
            indexes = [definition for (definition,) in cursor.fetchall()]
            for name, _ in foreign_keys + constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                """
                SELECT indexrelid::regclass::text FROM pg_index
                WHERE indrelid = %s::regclass AND NOT indisprimary
                """,
                [table],
            )
            for (index,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX {index}")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            deferred.append(Deferred(table, indexes, constraints, foreign_keys))
    return deferred


def restore(deferred: list[Deferred], *, report) -> None:
    """Put back what `defer` took: indexes and constraints, then foreign keys, then the
    triggers. `report(label, seconds)` hears how long each table's part took."""
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for item in deferred:
            started = time.perf_counter()
            for statement in item.indexes:
                cursor.execute(statement)
            for name, definition in item.constraints:
                cursor.execute(f'ALTER TABLE {item.table} ADD CONSTRAINT "{name}" {definition}')
            report(f"indexes and constraints of {item.table}", time.perf_counter() - started)
        started = time.perf_counter()
        for item in deferred:
            for name, definition in item.foreign_keys:
                cursor.execute(f'ALTER TABLE {item.table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(f"ALTER TABLE {item.table} ENABLE TRIGGER USER")
        report("foreign keys (checked), triggers back on", time.perf_counter() - started)


CHUNK_ROWS = 50_000


def text(moment: datetime.datetime) -> str:
    """A timestamp as COPY reads it."""
    return moment.isoformat()


class Copier:
    """COPY into one table, fed line by line (tab-separated, already escaped, \\N for NULL),
    sent in chunks so that memory stays flat however many rows there are."""

    def __init__(self, table: str, columns: list[str]) -> None:
        self.statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self.buffer: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.buffer.append(line)
        if len(self.buffer) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            with connection.cursor() as cursor:
                cursor.copy_expert(self.statement, io.StringIO("\n".join(self.buffer) + "\n"))
            self.count += len(self.buffer)
            self.buffer.clear()

    def close(self) -> int:
        self.flush()
        return self.count


def reset_sequence(table: str) -> None:
    """The identity column continues after the ids the seed chose."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
