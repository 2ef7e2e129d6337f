"""Each periodic command reads through its index, never by a scan of a table that grows
with the spa's history (issue 14: release_expired_holds read two million appointments
every few minutes).

Each command runs with something to do, every statement it sends is captured, and
PostgreSQL explains how it would run each one with sequential scans switched off: on a
test database's few rows the planner would rightly scan anyway, so a "Seq Scan" that
remains means no index can serve the statement. The index each command depends on must
appear in a plan.
"""

import datetime
from io import StringIO

import pytest
import time_machine
from axes.models import AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from appointments.models import Appointment, FreedTime, Notice
from appointments.services import book_appointment
from tests.factories import ClientFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

pytestmark = pytest.mark.django_db

# The tables whose size is the spa's history (or its logins): never read whole.
GROWING_TABLES = (
    "appointments_appointment",
    "appointments_notice",
    "appointments_freedtime",
    "screening_healthscreening",
    "clients_client",
    "django_session",
    "axes_accesslog",
    "axes_accessfailurelog",
    "axes_accessattempt",
)
DAY = datetime.timedelta(days=1)


def statements_of(command: str, *args, at_time: datetime.datetime = NOW) -> list[str]:
    """The reads, updates and deletes `command` sends, as sent."""
    with time_machine.travel(at_time, tick=False), CaptureQueriesContext(connection) as sent:
        call_command(command, *args, stdout=StringIO())
    return [
        query["sql"]
        for query in sent.captured_queries
        if query["sql"].lstrip().split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE", "WITH")
    ]


def plans(statements: list[str]) -> list[str]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        explained = []
        for statement in statements:
            cursor.execute(f"EXPLAIN {statement}")
            explained.append("\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)  # and the setting with it
    return explained


def assert_read_through(statements: list[str], *indexes: str) -> None:
    assert statements, "the command sent nothing: the test gave it nothing to do"
    explained = plans(statements)
    for statement, plan in zip(statements, explained, strict=True):
        for table in GROWING_TABLES:
            assert f"Seq Scan on {table}" not in plan, f"{statement}\n{plan}"
    for index in indexes:
        assert any(index in plan for plan in explained), f"{index} unused:\n" + "\n\n".join(
            explained
        )


@pytest.fixture
def spa():
    with time_machine.travel(NOW, tick=False):
        return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


def book(spa, client, start: datetime.datetime) -> Appointment:
    with time_machine.travel(NOW, tick=False):
        return book_appointment(
            client=client, treatment=spa.treatment, start=start, health_unchanged=True
        )


def test_release_expired_holds_finds_held_bookings_by_their_expiry(spa, ana):
    with time_machine.travel(NOW, tick=False):
        screen(ana, back_pain_under_care=True)  # waits for a staff review: the booking is held
    held = book(spa, ana, at(TOMORROW + 4 * DAY, 10))
    assert held.status == Appointment.Status.PENDING_REVIEW

    statements = statements_of("release_expired_holds", at_time=held.hold_expires_at + DAY)

    assert_read_through(statements, "appointment_hold_expiry_idx")
    held.refresh_from_db()
    assert held.status == Appointment.Status.CANCELLED


def test_send_reminders_finds_the_appointments_owed_a_reminder_by_their_start(spa, ana):
    with time_machine.travel(NOW, tick=False):
        screen(ana)
    booked = book(spa, ana, at(TOMORROW, 10))

    statements = statements_of("send_reminders", at_time=NOW + datetime.timedelta(hours=4))

    assert_read_through(statements, "appointment_reminder_due_idx")
    booked.refresh_from_db()
    assert booked.reminder_sent_at is not None


def test_send_notices_finds_the_notices_due_by_their_next_attempt(spa, ana):
    with time_machine.travel(NOW, tick=False):
        screen(ana)
    book(spa, ana, at(TOMORROW, 10))  # owes its confirmation

    statements = statements_of("send_notices")

    assert_read_through(statements, "notice_due_idx")
    assert not Notice.objects.unsettled().exists()


def test_purge_health_records_finds_the_clients_due_by_their_records_dates(spa):
    old = ClientFactory()
    with time_machine.travel(at(datetime.date(2017, 6, 1), 8), tick=False):
        screen(old, other_conditions="an old injury")
    recent = ClientFactory()
    with time_machine.travel(NOW, tick=False):
        screen(recent)

    statements = statements_of("purge_health_records")

    assert_read_through(statements, "screening_submitted_idx", "appointment_reason_start_idx")
    assert not old.screenings.exists()
    assert recent.screenings.exists()


def test_purge_sent_notices_finds_old_notices_by_when_they_were_sent(spa, ana):
    with time_machine.travel(NOW - 100 * DAY, tick=False):
        screen(ana)
        book_appointment(
            client=ana,
            treatment=spa.treatment,
            start=at(TOMORROW, 10) - 95 * DAY,
            health_unchanged=True,
        )
    Notice.objects.update(sent_at=NOW - 95 * DAY, attempts=1)

    statements = statements_of("purge_sent_notices")

    assert_read_through(statements, "notice_sent_idx", "notice_skipped_idx")
    assert not Notice.objects.exists()


def test_purge_sent_notices_finds_old_freed_times_by_when_they_were_offered(spa, ana):
    with time_machine.travel(NOW, tick=False):
        screen(ana)
    visit = book(spa, ana, at(TOMORROW, 10))
    FreedTime.objects.create(
        appointment=visit,
        therapist=visit.therapist,
        starts_at=visit.starts_at,
        handled_at=NOW - 95 * DAY,
    )

    statements = statements_of("purge_sent_notices")

    assert_read_through(statements, "freedtime_handled_idx")
    assert not FreedTime.objects.exists()


def test_clearsessions_finds_expired_sessions_by_their_expiry():
    with time_machine.travel(NOW - 30 * DAY, tick=False):
        SessionStore().create()

    statements = statements_of("clearsessions")

    assert_read_through(statements, "django_session_expire_date")


def test_axes_reset_logs_finds_old_login_records_by_their_time():
    record = AccessLog.objects.create(username="ana@example.com", ip_address="192.0.2.1")
    AccessLog.objects.filter(pk=record.pk).update(attempt_time=NOW - 40 * DAY)

    statements = statements_of("axes_reset_logs", "--age", "30")

    assert_read_through(statements, "axes_accesslog_attempt_time_idx")
    assert not AccessLog.objects.exists()
