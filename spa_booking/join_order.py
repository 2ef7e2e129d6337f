"""Planning a query's joins in the order the ORM wrote them.

PostgreSQL looks at every order of a query's joins for the cheapest plan (up to
join_collapse_limit tables: 8). The front desk's lists join an appointment to its client,
the client's account, treatment, therapist, room and pre-session check, and test an EXISTS
or two: weighing every order, with the appointment table's sixteen indexes as paths in
each, took PostgreSQL 4 to 22 ms a query at a chain's size, where running it took 0.2 to
2. The order the ORM writes (the appointments first, then each related row by its primary
key) is the plan it settles on anyway. `in_written_order()` has PostgreSQL keep that order
(join_collapse_limit 1) for the queries run inside it, and only those: planned so, they
took 1.2 to 2.2 ms.

Only for queries that start from the table whose index finds their rows: a search that
should start from a joined table (a client's name, say) needs the planner's freedom.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def in_written_order() -> Iterator[None]:
    """The queries run inside join their tables in the order they are written."""
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            # SET LOCAL ends with the transaction, or with the savepoint if it is rolled back.
            cursor.execute("SET LOCAL join_collapse_limit = 1")
        yield
        if nested:  # the outer transaction goes on: its later queries plan freely again
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL join_collapse_limit TO DEFAULT")
