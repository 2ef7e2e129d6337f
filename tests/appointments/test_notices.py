"""Appointment emails go through the outbox: a Notice written with the change, sent afterwards."""

import datetime
import logging
import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from appointments import free_times
from appointments.models import Appointment, Notice
from appointments.notifications import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    DeliveryReport,
    deliver_notices,
    notice_message_id,
)
from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from screening.services import decline_screening
from tests.appointments.test_races import _database_url
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices, two_senders_at_once
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

BROKEN = "tests.notices.BrokenMailServer"


@pytest.fixture
def spa(db):
    return open_spa()


def book(spa, client, start) -> Appointment:
    return book_appointment(
        client=client, treatment=spa.treatment, start=start, therapist=spa.therapist
    )


def owed(appointment: Appointment) -> list[tuple[str, int]]:
    return list(appointment.notices.unsettled().values_list("kind", "revision"))


# Writing the notice


@pytest.mark.usefixtures("frozen_clock")
def test_a_booking_owes_one_confirmation_and_sends_nothing_itself(
    spa, ana, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        appointment = book(spa, ana, at(TOMORROW, 10))

    assert owed(appointment) == [("confirmation", 0)]
    assert mail.outbox == []
    assert after_commit == []  # nothing waits for the commit inside the request either


@pytest.mark.usefixtures("frozen_clock")
def test_a_rolled_back_booking_owes_nothing(spa, ana):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(spa, ana, at(TOMORROW, 10))
        raise RuntimeError("the request failed after booking")

    assert not Appointment.objects.exists()
    assert not Notice.objects.exists()
    assert deliver_notices() == DeliveryReport()
    assert mail.outbox == []


@pytest.mark.usefixtures("frozen_clock")
def test_each_change_owes_its_own_notice_at_its_revision(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))
    cancel_appointment(appointment=appointment)

    assert owed(appointment) == [("confirmation", 0), ("reschedule", 1), ("cancellation", 2)]


@pytest.mark.usefixtures("frozen_clock")
def test_an_owed_notice_is_the_row_the_model_would_write(spa, ana):
    """owe_notice writes its row in SQL: the row is what Notice(...).save() would write."""
    appointment = book(spa, ana, at(TOMORROW, 10))

    notice = appointment.notices.get()
    model = Notice(appointment=appointment, kind=notice.kind, revision=0)
    for field in Notice._meta.concrete_fields:
        if not field.primary_key:
            assert getattr(notice, field.attname) == getattr(model, field.attname), field.name
    assert notice.created_at == notice.next_attempt_at == timezone.now()


# Delivering


@pytest.mark.usefixtures("frozen_clock")
def test_delivery_sends_the_confirmation_once_with_the_calendar_file(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))

    first = deliver_notices()
    second = deliver_notices()

    assert (first, second) == (DeliveryReport(sent=1), DeliveryReport())
    [message] = mail.outbox
    assert message.to == ["ana@example.com"]
    assert message.subject.startswith("Your booking at")
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("appointment.ics", "text/calendar; method=PUBLISH")
    assert "DTSTART:20261202T100000Z" in content
    notice = appointment.notices.get()
    assert (notice.sent_at, notice.attempts, notice.last_error) == (NOW, 1, "")


@pytest.mark.usefixtures("frozen_clock")
def test_delivery_stops_at_the_limit_oldest_first(spa):
    first = book(spa, ClientFactory(), at(TOMORROW, 10))
    second = book(spa, ClientFactory(), at(TOMORROW, 12))

    assert deliver_notices(limit=1) == DeliveryReport(sent=1)
    assert [m.to for m in mail.outbox] == [[first.client.user.email]]
    assert owed(second) == [("confirmation", 0)]


def test_a_confirmation_superseded_before_it_went_out_is_skipped_for_the_cancellation(spa, ana):
    with time_machine.travel(NOW, tick=False):
        appointment = book(spa, ana, at(TOMORROW, 10))
        cancel_appointment(appointment=appointment)

        report = deliver_owed_notices()

    assert report == DeliveryReport(sent=1, skipped=1)
    [message] = mail.outbox
    assert "cancelled" in message.subject
    assert "STATUS:CANCELLED" in message.attachments[0][1]
    confirmation = appointment.notices.get(kind="confirmation")
    assert (confirmation.skipped_at, confirmation.sent_at, confirmation.attempts) == (NOW, None, 0)


@pytest.mark.usefixtures("frozen_clock")
def test_a_moved_appointment_gets_only_the_news_of_its_new_time(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))

    assert deliver_owed_notices() == DeliveryReport(sent=1, skipped=1)
    [message] = mail.outbox
    assert "has moved" in message.subject
    assert "DTSTART:20261202T140000Z" in message.attachments[0][1]


@pytest.mark.usefixtures("frozen_clock")
def test_news_already_sent_is_followed_by_the_next_news(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    deliver_owed_notices()
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))
    cancel_appointment(appointment=appointment)

    assert deliver_owed_notices() == DeliveryReport(sent=1, skipped=1)
    first, second = (m.subject for m in mail.outbox)
    assert first.startswith("Your booking at")
    assert second.endswith("is cancelled")


# The Message-ID


@pytest.mark.usefixtures("frozen_clock")
def test_each_email_carries_a_message_id_of_its_notice(spa, ana, settings):
    settings.SPA_CALENDAR_DOMAIN = "stillwaters.example"
    appointment = book(spa, ana, at(TOMORROW, 10))
    deliver_owed_notices()
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))
    deliver_owed_notices()

    booked, moved = appointment.notices.order_by("revision")
    assert [message_id(m) for m in mail.outbox] == [
        f"<notice-{booked.pk}@stillwaters.example>",
        f"<notice-{moved.pk}@stillwaters.example>",
    ]


@pytest.mark.usefixtures("frozen_clock")
def test_an_email_sent_again_after_the_sender_died_has_the_same_message_id(spa, ana, monkeypatch):
    appointment = book(spa, ana, at(TOMORROW, 10))
    save = Notice.save

    def die_before_the_commit(notice, *args, update_fields=(), **kwargs):
        if "sent_at" in update_fields:
            raise OperationalError("server closed the connection unexpectedly")
        return save(notice, *args, update_fields=update_fields, **kwargs)

    monkeypatch.setattr(Notice, "save", die_before_the_commit)
    with pytest.raises(OperationalError):
        deliver_notices()  # the mail server took the email; the record of it is lost
    monkeypatch.setattr(Notice, "save", save)
    again = deliver_notices()

    assert again == DeliveryReport(sent=1)
    notice = appointment.notices.get()
    first, second = mail.outbox
    assert message_id(first) == message_id(second) == notice_message_id(notice)
    assert notice.sent_at == NOW  # sent twice, never lost


def message_id(message: mail.EmailMessage) -> str:
    return message.message()["Message-ID"]


# A mail server that fails


@pytest.mark.usefixtures("frozen_clock")
def test_a_mail_server_failure_keeps_the_notice_for_a_later_pass(spa, ana, settings):
    appointment = book(spa, ana, at(TOMORROW, 10))
    settings.EMAIL_BACKEND = BROKEN

    failed = deliver_notices()
    too_soon = deliver_notices(now=NOW + RETRY_DELAYS[0] - datetime.timedelta(seconds=1))

    assert (failed, too_soon) == (DeliveryReport(failed=1), DeliveryReport())
    notice = appointment.notices.get()
    assert (notice.attempts, notice.sent_at) == (1, None)
    assert notice.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert notice.next_attempt_at == NOW + RETRY_DELAYS[0]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retried = deliver_notices(now=NOW + RETRY_DELAYS[0])

    assert retried == DeliveryReport(sent=1)
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    notice.refresh_from_db()
    assert (notice.attempts, notice.sent_at) == (2, NOW + RETRY_DELAYS[0])


@pytest.mark.usefixtures("frozen_clock")
def test_the_sender_gives_up_after_the_last_attempt_and_logs_an_error(spa, ana, settings, caplog):
    appointment = book(spa, ana, at(TOMORROW, 10))
    settings.EMAIL_BACKEND = BROKEN
    when = NOW
    reports = []

    with caplog.at_level(logging.WARNING, logger="appointments.notifications"):
        for delay in [*RETRY_DELAYS, None]:
            reports.append(deliver_notices(now=when))
            if delay:
                when += delay
        later = deliver_notices(now=when + datetime.timedelta(days=30))

    assert reports == [DeliveryReport(failed=1)] * (MAX_ATTEMPTS - 1) + [
        DeliveryReport(failed=1, given_up=1)
    ]
    assert later == DeliveryReport()
    notice = appointment.notices.get()
    assert (notice.attempts, notice.given_up_at, notice.sent_at) == (MAX_ATTEMPTS, when, None)
    assert [r.levelname for r in caplog.records] == ["WARNING"] * (MAX_ATTEMPTS - 1) + ["ERROR"]
    assert f"after {MAX_ATTEMPTS} attempts" in caplog.records[-1].getMessage()
    assert "SMTPServerDisconnected" in caplog.records[-1].getMessage()


@pytest.mark.usefixtures("frozen_clock")
def test_one_failing_email_does_not_hold_up_the_others(spa, ana, monkeypatch):
    broken = book(spa, ana, at(TOMORROW, 10))
    fine = book(spa, ClientFactory(), at(TOMORROW, 12))
    original = mail.EmailMultiAlternatives.send

    def refuse_ana(message, *args, **kwargs):
        if message.to == ["ana@example.com"]:
            raise ConnectionRefusedError(111, "Connection refused")
        return original(message, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", refuse_ana)

    assert deliver_notices() == DeliveryReport(sent=1, failed=1)
    assert [m.to for m in mail.outbox] == [[fine.client.user.email]]
    refused = "ConnectionRefusedError: [Errno 111] Connection refused"
    assert broken.notices.get().last_error == refused


# Two senders at once


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_notice_exactly_once(settings):
    spa = open_spa()
    day = timezone.localdate() + datetime.timedelta(days=3)
    starts = [
        slot.start
        for slot in free_times.free_slots(treatment=spa.treatment, first_day=day, last_day=day)
    ][::5][:6]
    clients = ClientFactory.create_batch(len(starts))
    for client, start in zip(clients, starts, strict=True):
        book(spa, client, start)
    # Each email takes a moment, so while one sender holds a notice the other reaches for it.
    settings.EMAIL_BACKEND = "tests.notices.SlowMailServer"
    reports = two_senders_at_once()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.user.email for c in clients)
    assert sum(report.sent for report in reports) == len(clients)
    assert all(report.sent > 0 for report in reports), reports  # both really sent at once
    assert not Notice.objects.unsettled().exists()


# The command


@pytest.mark.usefixtures("frozen_clock")
def test_send_notices_makes_one_pass_and_says_what_it_did(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    book(spa, ClientFactory(), at(TOMORROW, 12))
    cancel_appointment(appointment=appointment)
    output = StringIO()

    call_command("send_notices", stdout=output)

    assert output.getvalue() == "Notices: 2 sent, 0 failed, 1 skipped.\n"
    assert len(mail.outbox) == 2
    output = StringIO()
    call_command("send_notices", stdout=output)
    assert output.getvalue() == "Notices: 0 sent, 0 failed, 0 skipped.\n"
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_while_it_runs_and_stops_cleanly(stop):
    spa = open_spa()
    day = timezone.localdate() + datetime.timedelta(days=3)
    slot = free_times.free_slots(treatment=spa.treatment, first_day=day, last_day=day)[0]
    appointment = book(spa, ClientFactory(user__email="wren@example.com"), slot.start)
    env = {**os.environ, "DATABASE_URL": _database_url(), "EMAIL_URL": "consolemail://"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "send_notices", "--loop", "0.2"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while appointment.notices.unsettled().exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.send_signal(stop)
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert worker.returncode == 0, output
    assert output.count("Subject: Your booking at") == 1, output
    assert "To: wren@example.com" in output
    assert "Notices: 1 sent, 0 failed, 0 skipped." in output
    assert output.rstrip().endswith("Stopped sending notices.")
    assert appointment.notices.get().sent_at is not None


def test_the_worker_needs_a_positive_pause():
    with pytest.raises(CommandError, match="greater than 0"):
        call_command("send_notices", "--loop", "0")


# The database keeps the outbox honest


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"kind": "invoice"}, "appointments_notice_known_kind"),
        ({"sent_at": NOW, "skipped_at": NOW, "attempts": 1}, "appointments_notice_settled_once"),
        ({"sent_at": NOW}, "appointments_notice_settled_by_an_attempt"),
        ({"given_up_at": NOW, "attempts": 5}, "appointments_notice_given_up_with_its_error"),
    ],
)
def test_the_database_refuses_an_impossible_notice(spa, ana, changes, constraint):
    appointment = book(spa, ana, at(TOMORROW, 10))
    notice = appointment.notices.get()
    for field, value in changes.items():
        setattr(notice, field, value)

    with pytest.raises(ValidationError, match=notice_message(constraint)):
        notice.validate_constraints()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        notice.save()


@pytest.mark.usefixtures("frozen_clock")
def test_the_database_refuses_a_second_notice_for_one_change(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))

    with pytest.raises(IntegrityError, match="appointments_notice_once_per_revision"):
        Notice.objects.create(appointment=appointment, kind="confirmation", revision=0)


@pytest.mark.usefixtures("frozen_clock")
def test_a_reminder_is_no_change_of_the_appointment_and_comes_once_per_revision(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    Notice.objects.create(appointment=appointment, kind="reminder", revision=0)
    assert owed(appointment) == [("confirmation", 0), ("reminder", 0)]
    again = Notice(appointment=appointment, kind="reminder", revision=0)

    with pytest.raises(ValidationError, match="The appointment already has its reminder."):
        again.validate_constraints()
    with (
        pytest.raises(IntegrityError, match="appointments_notice_reminder_once_per_revision"),
        transaction.atomic(),
    ):
        again.save()


def notice_message(constraint: str) -> str:
    [rule] = [c for c in Notice._meta.constraints if c.name == constraint]
    return rule.violation_error_message


@pytest.mark.usefixtures("frozen_clock")
def test_a_screening_decision_email_carries_the_message_id_of_its_notice(ana, staff_user):
    screening = screen(ana, back_pain_under_care=True)
    decline_screening(screening=screening, by=staff_user, note="Physio advises against")
    mail.outbox.clear()
    deliver_owed_notices()

    [email] = mail.outbox
    assert message_id(email) == notice_message_id(screening.notices.get())
