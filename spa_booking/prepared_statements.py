"""Statements PostgreSQL plans once per connection instead of on every run.

The free times' one big query (appointments/free_times.py) runs on every booking and on
every page of free times. PostgreSQL took as long to plan it as to run it (0.7-0.9 ms of
planning on a chain's database, for a booking that costs a few milliseconds in all): it
joins half a dozen small queries into one round trip, and the planner pays for each.
A prepared statement is planned for its parameters' types, not their values, so after five
runs PostgreSQL keeps one plan per connection when it is no worse than planning afresh.

Prepared statements live in the database session, and Django keeps a connection open for
CONN_MAX_AGE: each connection prepares a statement the first time it runs it. PREPARE is
not undone by a rollback, so it is remembered as soon as it succeeds. It is part of the
connection's setup, like the time zone Django sets when it connects, so it goes straight
to the driver and is not one of the request's queries. This needs a session of our own: a
pooler that hands each transaction a different session (PgBouncer in transaction mode)
would lose them, so behind one DJANGO_DB_PREPARED_STATEMENTS=off runs the plain SQL.
"""

import re
import weakref

from django.conf import settings
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# The statements each driver connection has prepared. A new connection (CONN_MAX_AGE ran
# out, a test database) is a new key, so it prepares them again.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class PreparedStatement:
    """`sql` with %(name)s parameters, run as EXECUTE of a statement prepared once."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self.sql = sql
        self.parameters: list[str] = []

        def number(match: re.Match) -> str:
            if match[1] not in self.parameters:
                self.parameters.append(match[1])
            return f"${self.parameters.index(match[1]) + 1}"

        # PostgreSQL works out each parameter's type from where it is used.
        self.prepare_sql = f"PREPARE {name} AS {_PLACEHOLDER.sub(number, sql)}".replace("%%", "%")
        placeholders = ", ".join(["%s"] * len(self.parameters))
        self.execute_sql = f"EXECUTE {name}({placeholders})"

    def execute(self, cursor: CursorWrapper, parameters: dict) -> None:
        """Run it on `cursor` (a Django cursor) with these named parameters."""
        if not settings.SPA_PREPARED_STATEMENTS:
            cursor.execute(self.sql, parameters)
            return
        driver = cursor.db.connection
        prepared = _prepared.setdefault(driver, set())
        if self.name not in prepared:
            with cursor.db.wrap_database_errors, driver.cursor() as setup:
                setup.execute(self.prepare_sql)
            prepared.add(self.name)
        cursor.execute(self.execute_sql, [parameters[name] for name in self.parameters])
