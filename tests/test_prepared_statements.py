"""Statements PostgreSQL plans once per connection (spa_booking/prepared_statements.py)."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from appointments import free_times
from appointments.models import TimeOff
from spa_booking.prepared_statements import PreparedStatement
from tests.scheduling import NOW, TOMORROW, at, open_spa

pytestmark = pytest.mark.django_db

SUM = PreparedStatement(
    "test_prepared_sum", "SELECT %(a)s::int + %(b)s::int + %(a)s::int, '100%%'::text"
)


def run(statement: PreparedStatement, **parameters) -> tuple:
    with connection.cursor() as cursor:
        statement.execute(cursor, parameters)
        return cursor.fetchone()


def prepared_here() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_named_parameters_are_numbered_once_each_and_a_percent_stays_one():
    assert SUM.parameters == ["a", "b"]
    assert "$1::int + $2::int + $1::int" in SUM.prepare_sql
    assert run(SUM, a=1, b=10) == (12, "100%")


def test_a_connection_prepares_once_and_the_request_counts_only_the_execute():
    run(SUM, a=1, b=2)  # prepared here, if this connection had not yet

    with CaptureQueriesContext(connection) as queries:
        assert run(SUM, a=2, b=3) == (7, "100%")

    assert [query["sql"] for query in queries] == ["EXECUTE test_prepared_sum(2, 3)"]
    assert "test_prepared_sum" in prepared_here()


def test_a_rollback_keeps_the_statement_prepared():
    with pytest.raises(RuntimeError), transaction.atomic():
        run(SUM, a=1, b=1)
        raise RuntimeError("the request failed")

    assert run(SUM, a=1, b=1) == (3, "100%")


@pytest.mark.django_db(transaction=True)  # it closes the connection
def test_a_new_connection_prepares_it_again():
    run(SUM, a=1, b=1)
    connection.close()  # CONN_MAX_AGE ran out, or the database restarted

    assert "test_prepared_sum" not in prepared_here()
    assert run(SUM, a=1, b=1) == (3, "100%")


def test_every_search_of_free_times_runs_the_connections_prepared_statement():
    spa = open_spa()

    def search() -> None:
        free_times.slots_at(treatment=spa.treatment, start=at(TOMORROW, 10))

    def runs() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                "WHERE name = 'free_times_schedule'"
            )
            return cursor.fetchone()[0]

    search()  # prepared by now, on this connection
    before = runs()
    for _ in range(3):
        search()

    assert runs() == before + 3


def test_behind_a_transaction_pooler_the_plain_sql_runs(settings):
    """DJANGO_DB_PREPARED_STATEMENTS=off: nothing is prepared, the same answer comes back."""
    settings.SPA_PREPARED_STATEMENTS = False
    plain = PreparedStatement("test_prepared_never", "SELECT %(a)s::int * 2")

    with CaptureQueriesContext(connection) as queries:
        assert run(plain, a=21) == (42,)

    assert [query["sql"] for query in queries] == ["SELECT 21::int * 2"]
    assert "test_prepared_never" not in prepared_here()


@pytest.mark.usefixtures("frozen_clock")
def test_the_generic_plan_reads_the_time_off_touching_the_window_not_the_years():
    """Planned once for any window, the statement cannot see how few of the years' holidays
    end after its start: the time off is read by its span's index on its own."""
    spa = open_spa(therapists=3)
    TimeOff.objects.bulk_create(
        TimeOff(
            therapist=therapist,
            starts_at=NOW - datetime.timedelta(days=7 * week + 7),
            ends_at=NOW - datetime.timedelta(days=7 * week + 6),
            reason="Ill",
        )
        for therapist in spa.therapists
        for week in range(1, 1000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE appointments_timeoff")
    with CaptureQueriesContext(connection) as queries:
        free_times.slots_at(treatment=spa.treatment, start=at(TOMORROW, 10))
    (execute,) = [q["sql"] for q in queries if q["sql"].startswith("EXECUTE free_times_schedule")]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("EXPLAIN " + execute)
        plan = "\n".join(row for (row,) in cursor.fetchall())

    assert "timeoff_span_idx" in plan
    assert "Seq Scan on appointments_timeoff" not in plan
