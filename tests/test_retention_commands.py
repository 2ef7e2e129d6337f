"""What is cleaned up, and what is kept: sent emails and the freed times offered to the
waitlist after SPA_SENT_NOTICE_RETENTION_DAYS (purge_sent_notices), expired sessions
(Django's clearsessions) and login records older than 30 days (django-axes'
axes_reset_logs). README, "Running in production", schedules them daily;
tests/test_periodic_commands_plans.py checks each reads through an index."""

import datetime
from io import StringIO

import pytest
import time_machine
from axes.models import AccessFailureLog, AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command

from appointments.management.commands.purge_sent_notices import purge_sent_notices
from appointments.models import FreedTime, Notice
from appointments.services import book_appointment
from tests.factories import ClientFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
NOTICES_DELETED = "Deleted {} sent notices and 0 freed times already offered to the waitlist.\n"


def run(command: str, *args) -> str:
    output = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(command, *args, stdout=output)
    return output.getvalue()


@pytest.fixture
def appointment():
    """An appointment, without the notice its booking wrote: each test writes its own."""
    with time_machine.travel(NOW, tick=False):
        spa = open_spa()
        booked = book_appointment(
            client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
        )
    Notice.objects.all().delete()
    return booked


def notice(appointment, revision: int, **settled) -> Notice:
    """A notice of `appointment` written 200 days ago, settled as `settled` says."""
    return Notice.objects.create(
        appointment=appointment,
        kind=Notice.Kind.RESCHEDULE,
        revision=revision,
        created_at=NOW - 200 * DAY,
        next_attempt_at=NOW - 200 * DAY,
        **settled,
    )


def test_sent_and_skipped_notices_older_than_the_retention_period_are_deleted(appointment):
    sent_long_ago = notice(appointment, 1, sent_at=NOW - 91 * DAY, attempts=1)
    skipped_long_ago = notice(appointment, 2, skipped_at=NOW - 91 * DAY)
    sent_lately = notice(appointment, 3, sent_at=NOW - 89 * DAY, attempts=1)
    retrying = notice(appointment, 4, attempts=3, last_error="SMTPServerDisconnected")
    given_up = notice(
        appointment, 5, attempts=5, last_error="SMTPRecipientsRefused", given_up_at=NOW - 99 * DAY
    )

    assert run("purge_sent_notices") == NOTICES_DELETED.format(2)

    kept = set(Notice.objects.values_list("pk", flat=True))
    assert kept == {sent_lately.pk, retrying.pk, given_up.pk}
    assert not Notice.objects.filter(pk__in=[sent_long_ago.pk, skipped_long_ago.pk]).exists()
    assert run("purge_sent_notices") == NOTICES_DELETED.format(0)


def test_notices_are_deleted_in_batches_until_none_is_left(appointment):
    for revision in range(1, 8):
        notice(appointment, revision, sent_at=NOW - 100 * DAY, attempts=1)

    assert purge_sent_notices(now=NOW, batch=3) == 7

    assert not Notice.objects.exists()


def test_the_retention_period_is_a_setting(appointment, settings):
    notice(appointment, 1, sent_at=NOW - 10 * DAY, attempts=1)
    settings.SPA_SENT_NOTICE_RETENTION_DAYS = 7

    assert run("purge_sent_notices") == (
        "Deleted 1 sent notice and 0 freed times already offered to the waitlist.\n"
    )


def test_freed_times_offered_before_the_retention_period_are_deleted(appointment):
    def freed(**handled) -> FreedTime:
        return FreedTime.objects.create(
            appointment=appointment,
            therapist=appointment.therapist,
            starts_at=appointment.starts_at,
            created_at=NOW - 200 * DAY,
            **handled,
        )

    offered_long_ago = freed(handled_at=NOW - 91 * DAY)
    offered_lately = freed(handled_at=NOW - 89 * DAY)
    not_offered_yet = freed()

    assert run("purge_sent_notices") == (
        "Deleted 0 sent notices and 1 freed time already offered to the waitlist.\n"
    )

    assert set(FreedTime.objects.values_list("pk", flat=True)) == {
        offered_lately.pk,
        not_offered_yet.pk,
    }
    assert not FreedTime.objects.filter(pk=offered_long_ago.pk).exists()


def test_clearsessions_deletes_expired_sessions_and_keeps_live_ones():
    with time_machine.travel(NOW - 15 * DAY, tick=False):
        expired = SessionStore()
        expired.create()  # SESSION_COOKIE_AGE is 14 days
    with time_machine.travel(NOW - DAY, tick=False):
        live = SessionStore()
        live.create()

    run("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def login_record(model, days_ago: int):
    record = model.objects.create(
        username="ana@example.com", ip_address="192.0.2.1", user_agent="Firefox"
    )
    # attempt_time is auto_now_add: set it afterwards.
    model.objects.filter(pk=record.pk).update(attempt_time=NOW - days_ago * DAY)
    return record


def test_login_records_older_than_30_days_are_deleted():
    login_record(AccessLog, 31)
    recent = login_record(AccessLog, 29)
    login_record(AccessFailureLog, 31)
    recent_failure = login_record(AccessFailureLog, 29)

    run("axes_reset_logs", "--age", "30")
    run("axes_reset_failure_logs", "--age", "30")

    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(AccessFailureLog.objects.values_list("pk", flat=True)) == [recent_failure.pk]
