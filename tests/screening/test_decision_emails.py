"""Screening decision emails go through the outbox: owed with the decision, sent afterwards."""

import logging

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from appointments.models import Appointment, Notice
from appointments.notifications import RETRY_DELAYS, DeliveryReport, deliver_notices
from appointments.services import book_appointment
from screening.models import HealthScreening
from screening.services import (
    approve_screening,
    clear_on_doctors_note,
    decline_screening,
    return_to_review,
)
from tests.factories import ClientFactory, UserFactory
from tests.notices import deliver_owed_notices, two_senders_at_once
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import decide, screen

BROKEN = "tests.notices.BrokenMailServer"
CLEARED = "Your health screening is cleared for back-walking"
NOT_CLEARED = "About your health screening for back-walking"


@pytest.fixture
def waiting(ana) -> HealthScreening:
    """Ana's screening, waiting for a staff review."""
    return screen(ana, back_pain_under_care=True)


def owed(screening: HealthScreening) -> list[tuple[str, int]]:
    return list(screening.notices.unsettled().values_list("kind", "revision"))


# Owing the email


@pytest.mark.usefixtures("frozen_clock")
def test_a_decision_sends_nothing_itself_and_owes_one_decision_email(
    waiting, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")

    assert owed(waiting) == [("decision", 1)]
    assert mail.outbox == []
    assert after_commit == []  # nothing waits for the commit inside the request either


@pytest.mark.usefixtures("frozen_clock")
def test_a_rolled_back_decision_owes_nothing(waiting, reviewer):
    with pytest.raises(RuntimeError), transaction.atomic():
        decline_screening(screening=waiting, by=reviewer, note="GP unsure")
        raise RuntimeError("the request failed after deciding")

    waiting.refresh_from_db()
    assert waiting.review == HealthScreening.Review.PENDING
    assert not Notice.objects.exists()
    assert deliver_notices() == DeliveryReport()


# Delivering


@pytest.mark.usefixtures("frozen_clock")
def test_delivery_sends_the_decision_once(waiting, reviewer):
    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")

    first = deliver_notices()
    second = deliver_notices()

    assert (first, second) == (DeliveryReport(sent=1), DeliveryReport())
    [message] = mail.outbox
    assert message.to == ["ana@example.com"]
    assert message.subject == CLEARED
    notice = waiting.notices.get()
    assert (notice.kind, notice.sent_at, notice.attempts, notice.last_error) == (
        "decision",
        NOW,
        1,
        "",
    )


@pytest.mark.usefixtures("frozen_clock")
def test_a_cleared_doctors_note_is_emailed_as_cleared(ana, reviewer):
    screening = screen(ana, fragile_bones=True)

    clear_on_doctors_note(screening=screening, by=reviewer, note="Letter from Dr Li, 28 Nov")

    assert deliver_owed_notices() == DeliveryReport(sent=1)
    assert [m.subject for m in mail.outbox] == [CLEARED]


@pytest.mark.usefixtures("frozen_clock")
def test_two_decisions_before_delivery_email_only_the_latest(waiting, reviewer):
    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")
    return_to_review(screening=waiting, by=reviewer, reason="Session stopped: new pain")
    decline_screening(screening=waiting, by=reviewer, note="Wait for the GP")

    assert deliver_owed_notices() == DeliveryReport(sent=1, skipped=1)
    [message] = mail.outbox
    assert message.subject == NOT_CLEARED
    approval = waiting.notices.get(revision=1)
    assert (approval.skipped_at, approval.sent_at, approval.attempts) == (NOW, None, 0)
    assert waiting.notices.get(revision=3).sent_at == NOW


@pytest.mark.usefixtures("frozen_clock")
def test_an_approval_sent_back_to_review_before_it_went_out_is_not_emailed(waiting, reviewer):
    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")
    return_to_review(screening=waiting, by=reviewer, reason="Session stopped: new pain")

    assert deliver_owed_notices() == DeliveryReport(skipped=1)
    assert mail.outbox == []


@pytest.mark.usefixtures("frozen_clock")
def test_a_sent_decision_is_followed_by_the_next_one(waiting, reviewer):
    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")
    deliver_owed_notices()
    return_to_review(screening=waiting, by=reviewer, reason="Session stopped: new pain")
    decline_screening(screening=waiting, by=reviewer, note="Wait for the GP")

    assert deliver_owed_notices() == DeliveryReport(sent=1)
    assert [m.subject for m in mail.outbox] == [CLEARED, NOT_CLEARED]


@pytest.mark.usefixtures("frozen_clock")
def test_an_approval_emails_the_decision_and_the_confirmation_of_the_held_booking(
    ana, waiting, reviewer
):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    held = book_appointment(
        client=ana, treatment=spa.treatment, start=at(TOMORROW, 10), health_unchanged=True
    )
    deliver_owed_notices()  # the held email
    mail.outbox.clear()

    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")

    assert deliver_owed_notices() == DeliveryReport(sent=2)
    by_subject = {m.subject: m for m in mail.outbox}
    assert "Confirmed: Ashiatsu, Wednesday 2 December 2026 at 10:00" in by_subject[CLEARED].body
    assert held.notices.get(kind="confirmation").sent_at == NOW


# What the email says


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("changes", "decision", "subject"),
    [
        ({"back_pain_under_care": True}, "approve", CLEARED),
        ({"back_pain_under_care": True}, "decline", NOT_CLEARED),
        ({"disc_disorder": True}, "doctors_note", CLEARED),
        ({"fragile_bones": True}, "doctors_note", CLEARED),
    ],
)
def test_the_staff_note_never_reaches_the_email(ana, reviewer_http, changes, decision, subject):
    screening = screen(ana, **changes)

    decide(
        reviewer_http,
        screening,
        decision,
        note="Letter from Dr Quill about the L4 disc",
        therapist_note="No pressure on the lower back",
    )
    deliver_owed_notices()

    [message] = mail.outbox
    assert message.subject == subject
    for private in ("Quill", "L4", "disc", "lower back"):
        assert private not in message.subject
        assert private not in message.body


# A mail server that fails


@pytest.mark.usefixtures("frozen_clock")
def test_with_a_broken_mail_server_the_review_still_saves_and_is_emailed_later(
    waiting, reviewer_http, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = BROKEN

    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        response = decide(reviewer_http, waiting, "decline", note="Surgery planned")

    assert response.status_code == 302
    assert after_commit == []
    waiting.refresh_from_db()
    assert waiting.review == HealthScreening.Review.DECLINED
    assert owed(waiting) == [("decision", 1)]

    with caplog.at_level(logging.WARNING, logger="appointments.notifications"):
        assert deliver_notices() == DeliveryReport(failed=1)
    notice = waiting.notices.get()
    assert (notice.attempts, notice.sent_at) == (1, None)
    assert notice.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert notice.next_attempt_at == NOW + RETRY_DELAYS[0]
    [warning] = [r for r in caplog.records if r.name == "appointments.notifications"]
    assert f"Screening decision for health screening #{waiting.pk}" in warning.getMessage()
    assert "Surgery" not in warning.getMessage()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver_notices(now=NOW + RETRY_DELAYS[0]) == DeliveryReport(sent=1)
    assert [m.subject for m in mail.outbox] == [NOT_CLEARED]


# The reviewer's page


@pytest.mark.usefixtures("frozen_clock")
def test_reviewers_see_whether_and_when_the_decision_was_emailed(waiting, reviewer_http):
    decide(reviewer_http, waiting, "approve", note="Physio letter seen")
    deliver_owed_notices()
    url = reverse("admin:screening_healthscreening_change", args=[waiting.pk])

    page = reviewer_http.get(url).content.decode()

    assert "Screening decision of 01 Dec 2026 08:00: sent 01 Dec 2026 08:00" in page
    assert 'name="notices' not in page  # a record to read, not a form to edit


# Two senders at once


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_decision_exactly_once(settings):
    reviewer = UserFactory(is_staff=True)
    clients = ClientFactory.create_batch(6)
    for client in clients:
        approve_screening(
            screening=screen(client, back_pain_under_care=True),
            by=reviewer,
            note="Spoke to the client; safe",
        )
    # Each email takes a moment, so while one sender holds a notice the other reaches for it.
    settings.EMAIL_BACKEND = "tests.notices.SlowMailServer"
    reports = two_senders_at_once()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.user.email for c in clients)
    assert {m.subject for m in mail.outbox} == {CLEARED}
    assert sum(report.sent for report in reports) == len(clients)
    assert all(report.sent > 0 for report in reports), reports  # both really sent at once
    assert not Notice.objects.unsettled().exists()


# The database keeps the outbox honest


def raw_insert(**columns) -> None:
    """A notice written past the model, as a hand-written SQL statement would."""
    row = {
        "kind": "decision",
        "revision": 1,
        "created_at": NOW,
        "next_attempt_at": NOW,
        "attempts": 0,
        "last_error": "",
        "appointment_id": None,
        "screening_id": None,
        **columns,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Notice._meta.db_table} ({', '.join(row)}) "
            f"VALUES ({', '.join(['%s'] * len(row))})",
            list(row.values()),
        )


@pytest.fixture
def appointment(ana) -> Appointment:
    spa = open_spa()
    return book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 10))


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("kind", "about", "constraint"),
    [
        ("decision", {"appointment", "screening"}, "appointments_notice_appointment_or_screening"),
        ("confirmation", set(), "appointments_notice_appointment_or_screening"),
        ("confirmation", {"screening"}, "appointments_notice_decision_about_a_screening"),
        ("decision", {"appointment"}, "appointments_notice_decision_about_a_screening"),
    ],
)
def test_the_database_refuses_a_notice_about_the_wrong_thing(
    appointment, waiting, kind, about, constraint
):
    subjects = {
        "appointment": appointment if "appointment" in about else None,
        "screening": waiting if "screening" in about else None,
    }
    notice = Notice(kind=kind, revision=7, **subjects)

    with pytest.raises(ValidationError) as refused:
        notice.validate_constraints()
    assert refused.value.messages == [notice_message(constraint)]
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        raw_insert(
            kind=kind,
            revision=7,
            appointment_id=subjects["appointment"] and appointment.pk,
            screening_id=subjects["screening"] and waiting.pk,
        )


@pytest.mark.usefixtures("frozen_clock")
def test_the_database_accepts_a_decision_notice_about_a_screening(waiting):
    raw_insert(screening_id=waiting.pk, revision=5)
    Notice(kind="decision", revision=6, screening=waiting).validate_constraints()

    assert owed(waiting) == [("decision", 5)]


@pytest.mark.usefixtures("frozen_clock")
def test_the_database_refuses_a_second_notice_for_one_decision(waiting, reviewer):
    approve_screening(screening=waiting, by=reviewer, note="Spoke to the client; safe")
    again = Notice(kind="decision", revision=1, screening=waiting)

    with pytest.raises(ValidationError) as refused:
        again.validate_constraints()
    assert refused.value.messages == [notice_message("appointments_notice_once_per_decision")]
    with pytest.raises(IntegrityError, match="appointments_notice_once_per_decision"):
        raw_insert(screening_id=waiting.pk, revision=1)


def notice_message(constraint: str) -> str:
    [rule] = [c for c in Notice._meta.constraints if c.name == constraint]
    return rule.violation_error_message
