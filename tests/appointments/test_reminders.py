"""Reminders go through the outbox: send_reminders owes them, send_notices emails them."""

import datetime
import threading
from io import StringIO
from typing import ClassVar

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.core.management import call_command
from django.db import connection, connections, transaction

from appointments.management.commands import send_reminders
from appointments.models import Appointment
from appointments.notifications import DeliveryReport, deliver_notices, when_phrase
from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from screening.services import approve_screening
from tests.concurrency import in_thread
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

TODAY = NOW.date()  # Tuesday 1 December 2026
FRIDAY = datetime.date(2026, 12, 4)


@pytest.fixture
def spa(db):
    return open_spa(therapists=2, rooms=2)


def book(spa, client, start, therapist=None) -> Appointment:
    return book_appointment(
        client=client, treatment=spa.treatment, start=start, therapist=therapist or spa.therapist
    )


def remind(when: datetime.datetime) -> str:
    """Run send_reminders at `when`; what it printed."""
    output = StringIO()
    with time_machine.travel(when, tick=False):
        call_command("send_reminders", stdout=output)
    return output.getvalue()


def send(when: datetime.datetime) -> DeliveryReport:
    """One pass of send_notices at `when`."""
    with time_machine.travel(when, tick=False):
        return deliver_notices()


def reminders(appointment: Appointment) -> list[int]:
    """The revisions of the appointment its reminders were owed at."""
    return list(appointment.notices.filter(kind="reminder").values_list("revision", flat=True))


def reminder_emails() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.subject.startswith("Reminder")]


def booked(spa, *starts: datetime.datetime) -> list[Appointment]:
    """Appointments booked at NOW, their confirmations already sent."""
    with time_machine.travel(NOW, tick=False):
        appointments = [book(spa, ClientFactory(), start) for start in starts]
        deliver_owed_notices()
    mail.outbox.clear()
    return appointments


# Owing the reminders


def test_send_reminders_owes_a_reminder_once_per_appointment_and_sends_nothing(spa, ana):
    with time_machine.travel(NOW, tick=False):
        soon = book(spa, ana, at(TOMORROW, 10))
        later = book(spa, ClientFactory(), at(FRIDAY, 10))
        cancelled = book(spa, ClientFactory(), at(TOMORROW, 14))
        cancel_appointment(appointment=cancelled)
    noon = at(TODAY, 12)

    first, second = remind(noon), remind(noon + datetime.timedelta(minutes=5))

    assert first == "Owed 1 reminder; send_notices emails them.\n"
    assert second == "Owed 0 reminders; send_notices emails them.\n"
    assert mail.outbox == []
    assert (reminders(soon), reminders(later), reminders(cancelled)) == ([0], [], [])
    soon.refresh_from_db()
    assert soon.reminder_sent_at == noon


def test_the_sender_emails_the_reminder_once_without_a_calendar_file(spa, ana, settings):
    with time_machine.travel(NOW, tick=False):
        appointment = book(spa, ana, at(TOMORROW, 10))
    remind(at(TODAY, 12))

    first, second = send(at(TODAY, 12)), send(at(TODAY, 13))

    assert (first, second) == (DeliveryReport(sent=2), DeliveryReport())
    [reminder] = reminder_emails()
    assert reminder.to == ["ana@example.com"]
    assert (
        reminder.subject == f"Reminder: your appointment at {settings.SPA_NAME} tomorrow at 10:00"
    )
    assert "A reminder of your appointment tomorrow at 10:00:" in reminder.body
    assert "Wednesday 2 December 2026 at 10:00" in reminder.body
    assert reminder.attachments == []
    notice = appointment.notices.get(kind="reminder")
    assert (
        reminder.message()["Message-ID"] == f"<notice-{notice.pk}@{settings.SPA_CALENDAR_DOMAIN}>"
    )


# What the reminder says: relative to when it is sent


@pytest.mark.parametrize(
    ("start", "sent", "says"),
    [
        (at(TOMORROW, 16), at(TOMORROW, 8), "today at 16:00"),
        (at(TOMORROW, 10), at(TODAY, 12), "tomorrow at 10:00"),
    ],
)
def test_the_reminder_says_today_or_tomorrow(spa, start, sent, says, settings):
    booked(spa, start)
    remind(sent)
    send(sent)

    [reminder] = reminder_emails()
    assert reminder.subject == f"Reminder: your appointment at {settings.SPA_NAME} {says}"
    assert f"A reminder of your appointment {says}:" in reminder.body


def test_a_reminder_further_ahead_gives_the_day(spa, monkeypatch, settings):
    monkeypatch.setattr(send_reminders, "REMINDER_LEAD", datetime.timedelta(days=4))
    booked(spa, at(FRIDAY, 10))
    remind(at(TODAY, 12))
    send(at(TODAY, 12))

    [reminder] = reminder_emails()
    says = "on Friday 4 December at 10:00"
    assert reminder.subject == f"Reminder: your appointment at {settings.SPA_NAME} {says}"


def test_a_reminder_held_up_past_midnight_says_today(spa, settings):
    booked(spa, at(TOMORROW, 10))
    late = at(TODAY, 23, 59)
    remind(late)
    settings.EMAIL_BACKEND = "tests.notices.BrokenMailServer"
    assert send(late) == DeliveryReport(failed=1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send(at(TOMORROW, 0, 30)) == DeliveryReport(sent=1)
    [reminder] = reminder_emails()
    assert reminder.subject.endswith(" today at 10:00")


def test_today_and_tomorrow_are_the_spas_days_not_utcs():
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (summer time).
    now = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)
    start = datetime.datetime(2026, 7, 2, 9, 0, tzinfo=datetime.UTC)

    assert when_phrase(start, now) == "today at 10:00"
    assert when_phrase(start + datetime.timedelta(days=1), now) == "tomorrow at 10:00"
    assert when_phrase(start + datetime.timedelta(days=2), now) == "on Saturday 4 July at 10:00"


# One refused address


def test_a_refused_address_holds_up_only_its_own_reminder(spa, settings):
    with time_machine.travel(NOW, tick=False):
        gone = book(spa, ClientFactory(user__email="gone@refused.example"), at(TOMORROW, 10))
        others = [
            book(spa, ClientFactory(), at(TOMORROW, 12)),
            book(spa, ClientFactory(), at(TOMORROW, 14)),
        ]
        deliver_owed_notices()  # the confirmations went out while the mailbox still existed
    mail.outbox.clear()
    settings.EMAIL_BACKEND = "tests.notices.RefusingMailServer"
    afternoon = at(TODAY, 16)  # all three within 24 hours

    assert remind(afternoon) == "Owed 3 reminders; send_notices emails them.\n"
    report = send(afternoon)

    # The refused one is the oldest, so it went first; the others still left.
    assert report == DeliveryReport(sent=2, failed=1)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.client.user.email for o in others)
    refused = gone.notices.get(kind="reminder")
    assert refused.last_error.startswith("SMTPRecipientsRefused: ")
    assert (refused.attempts, refused.sent_at) == (1, None)
    assert refused.next_attempt_at == afternoon + datetime.timedelta(minutes=1)
    assert remind(afternoon + datetime.timedelta(minutes=5)).startswith("Owed 0 reminders")


# Later news


def test_a_reminder_never_skips_the_confirmation_or_the_other_way_round(spa, ana):
    with time_machine.travel(NOW, tick=False):
        book(spa, ana, at(TOMORROW, 10))
    remind(at(TODAY, 12))  # before the confirmation went out

    assert send(at(TODAY, 12)) == DeliveryReport(sent=2)
    assert [m.subject.split(" ")[0] for m in mail.outbox] == ["Your", "Reminder:"]


def test_a_cancelled_appointment_gets_the_cancellation_not_the_reminder(spa):
    [appointment] = booked(spa, at(TOMORROW, 10))
    remind(at(TODAY, 12))
    with time_machine.travel(at(TODAY, 12, 1), tick=False):
        cancel_appointment(appointment=appointment, by_staff=True)

    assert send(at(TODAY, 12, 2)) == DeliveryReport(sent=1, skipped=1)
    [message] = mail.outbox
    assert message.subject.endswith("is cancelled")
    assert appointment.notices.get(kind="reminder").skipped_at == at(TODAY, 12, 2)


def test_a_moved_appointment_is_reminded_of_its_new_time_once(spa):
    [appointment] = booked(spa, at(TOMORROW, 10))
    remind(at(TODAY, 12))
    with time_machine.travel(at(TODAY, 12, 1), tick=False):
        reschedule_appointment(appointment=appointment, start=at(TOMORROW, 11), by_staff=True)

    assert send(at(TODAY, 12, 2)) == DeliveryReport(sent=1, skipped=1)
    assert remind(at(TODAY, 12, 5)) == "Owed 1 reminder; send_notices emails them.\n"
    assert send(at(TODAY, 12, 5)) == DeliveryReport(sent=1)

    moved, reminder = mail.outbox
    assert moved.subject.endswith("has moved")
    assert reminder.subject.endswith("tomorrow at 11:00")
    assert reminders(appointment) == [0, 1]


def test_a_move_to_later_in_the_week_waits_for_its_own_reminder(spa):
    [appointment] = booked(spa, at(TOMORROW, 10))
    remind(at(TODAY, 12))
    with time_machine.travel(at(TODAY, 12, 1), tick=False):
        reschedule_appointment(appointment=appointment, start=at(FRIDAY, 10), by_staff=True)

    assert send(at(TODAY, 12, 2)) == DeliveryReport(sent=1, skipped=1)
    assert remind(at(TODAY, 12, 5)).startswith("Owed 0 reminders")
    assert remind(at(FRIDAY, 9)) == "Owed 1 reminder; send_notices emails them.\n"


def test_a_staff_decision_on_a_held_booking_keeps_its_reminder(ana, staff_user):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    with time_machine.travel(NOW, tick=False):
        screening = screen(ana, back_pain_under_care=True)
        appointment = book_appointment(
            client=ana,
            treatment=spa.treatment,
            start=at(TOMORROW, 10),
            therapist=spa.therapist,
            health_unchanged=True,
        )
        deliver_owed_notices()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    remind(at(TODAY, 12))
    with time_machine.travel(at(TODAY, 12, 1), tick=False):
        approve_screening(screening=screening, by=staff_user, note="Physio says fine")

    assert send(at(TODAY, 12, 2)) == DeliveryReport(sent=3)  # reminder, confirmation, decision
    assert len(reminder_emails()) == 1


def test_a_reminder_that_could_not_leave_before_the_start_is_dropped(spa):
    [appointment] = booked(spa, at(TOMORROW, 10))
    remind(at(TODAY, 12))

    assert send(at(TOMORROW, 10)) == DeliveryReport(skipped=1)
    assert mail.outbox == []


# Runs at once, and no lock on an appointment while the mail server answers


@pytest.mark.django_db(transaction=True)
def test_a_run_skips_an_appointment_another_run_holds_and_a_later_run_owes_it():
    spa = open_spa()
    with time_machine.travel(NOW, tick=False):
        held, free = (book(spa, ClientFactory(), at(TOMORROW, hour)) for hour in (10, 14))
    with time_machine.travel(at(TODAY, 16), tick=False):
        with transaction.atomic():
            # As another run does while it writes this appointment's reminder.
            Appointment.objects.select_for_update().get(pk=held.pk)
            thread, result = in_thread(lambda: call_command("send_reminders", stdout=StringIO()))
            thread.join(timeout=30)
            assert not thread.is_alive(), "the run waited for the lock instead of skipping"
        assert "error" not in result, result
        assert (reminders(held), reminders(free)) == ([], [0])

        assert remind(at(TODAY, 16, 5)) == "Owed 1 reminder; send_notices emails them.\n"
        assert (reminders(held), reminders(free)) == ([0], [0])


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_owe_each_reminder_exactly_once():
    spa = open_spa(therapists=3, rooms=3)
    with time_machine.travel(NOW, tick=False):
        appointments = [
            book(spa, ClientFactory(), at(TOMORROW, hour), therapist)
            for therapist in spa.therapists
            for hour in (9, 11, 13, 15)
        ]
    barrier = threading.Barrier(2)
    outputs: list[str] = []
    crashes: list[BaseException] = []

    def run() -> None:
        try:
            connection.ensure_connection()  # this thread's own connection
            output = StringIO()
            barrier.wait(timeout=30)
            call_command("send_reminders", stdout=output)
            outputs.append(output.getvalue())
        except BaseException as error:
            crashes.append(error)
        finally:
            connections.close_all()

    with time_machine.travel(at(TODAY, 16), tick=False):  # all of them within 24 hours
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert crashes == []
    assert sum(int(output.split()[1]) for output in outputs) == len(appointments)
    assert all(reminders(appointment) == [0] for appointment in appointments)


class AppointmentLockProbe(LocmemEmailBackend):
    """Django's test outbox; while it has an email, another connection tries to lock
    every appointment without waiting, as a booking would."""

    findings: ClassVar[list[str]] = []

    def send_messages(self, messages):
        def lock_all() -> str:
            with transaction.atomic():
                list(Appointment.objects.select_for_update(nowait=True))
            return "free"

        thread, result = in_thread(lock_all)
        thread.join(timeout=30)
        self.findings.append(result.get("value") or f"locked: {result.get('error')}")
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_no_appointment_is_locked_while_the_mail_server_has_an_email(settings):
    spa = open_spa()
    with time_machine.travel(NOW, tick=False):
        appointment = book(spa, ClientFactory(), at(TOMORROW, 10))
    remind(at(TODAY, 12))
    AppointmentLockProbe.findings = []
    settings.EMAIL_BACKEND = f"{__name__}.AppointmentLockProbe"

    assert send(at(TODAY, 12)) == DeliveryReport(sent=2)  # the confirmation and the reminder
    assert AppointmentLockProbe.findings == ["free", "free"]
    assert reminders(appointment) == [0]
