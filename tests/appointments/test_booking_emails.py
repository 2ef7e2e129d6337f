"""What the booking, reminder and decision emails say: an HTML part and a plain-text part,
the spa's address and a map link, the price, a link to manage the booking, and the rule for
changing it; never health data."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from appointments.services import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from appointments.services.holds import release_expired_holds
from screening import rules
from screening.services import approve_screening
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

SITE = "https://spa.example"
ADDRESS = "7 Quay Street, Bristol BS1 4XX"
MAP = "https://maps.example/quay-street"
# What a client tells the spa about their health, in every free-text place there is.
PRIVATE = ["old whiplash", "left hip replacement", "Private-Signature", "firm pressure"]
IN_FIVE_DAYS = NOW.date() + datetime.timedelta(days=5)


@pytest.fixture(autouse=True)
def spa_details(settings):
    settings.SPA_SITE_URL = SITE
    settings.SPA_ADDRESS = ADDRESS
    settings.SPA_MAP_URL = MAP


def parts(message) -> tuple[str, str]:
    """The plain text and the HTML of an email."""
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def sent(subject_start: str):
    deliver_owed_notices()
    [message] = [m for m in mail.outbox if m.subject.startswith(subject_start)]
    return message


def assert_tells_where_and_how_to_manage(text: str, html: str, appointment) -> None:
    manage = SITE + reverse("appointments:detail", args=[appointment.pk])
    for part in (text, html):
        assert manage in part
        assert ADDRESS in part and MAP in part
        assert f"£{appointment.treatment.price}" in part
    assert f'href="{manage}"' in html
    assert html.lstrip().startswith("<!doctype html>")


def assert_no_health_data(*messages) -> None:
    for message in messages:
        text, html = parts(message)
        for private in PRIVATE:
            assert private not in text and private not in html and private not in message.subject


@pytest.fixture
def back_walking():
    return open_spa(back_walking=True, name="Ashiatsu")


@pytest.fixture
def screened(ana):
    """Ana, cleared for back-walking (her therapist is told she likes firm pressure)."""
    ana.full_name = "Anna Private-Signature"
    ana.save()
    screen(ana, pressure_preference=rules.Pressure.FIRM)
    return ana


def test_the_confirmation_has_html_and_text_with_address_price_and_a_manage_link(
    back_walking, screened
):
    appointment = book_appointment(
        client=screened,
        treatment=back_walking.treatment,
        start=at(IN_FIVE_DAYS, 10),
        health_unchanged=True,
    )

    message = sent("Your booking at Still Waters Spa")

    text, html = parts(message)
    assert_tells_where_and_how_to_manage(text, html, appointment)
    # The rule for this booking, five days away: online until a day before.
    assert "You can change or cancel it online until Saturday 5 December at 10:00" in text
    assert "You can change or cancel it online until Saturday 5 December at 10:00" in html
    assert [name for name, *_ in message.attachments] == ["appointment.ics"]
    assert_no_health_data(message)


def test_a_booking_inside_the_window_is_told_the_grace_period_and_then_the_phone(ana):
    spa = open_spa()
    book_appointment(client=ana, treatment=spa.treatment, start=at(NOW.date(), 11))

    text, html = parts(sent("Your booking at"))

    for part in (text, html):
        assert "This time is less than 24 hours away" in part
        assert "until 08:15 (15 minutes after booking)" in part
        assert "+44 20 7946 0000" in part


def test_a_move_and_a_cancellation_have_both_parts_and_the_links(ana):
    spa = open_spa()
    appointment = book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 14))
    reschedule_appointment(appointment=appointment, start=at(IN_FIVE_DAYS, 15))
    moved = sent("Your appointment at Still Waters Spa has moved")
    text, html = parts(moved)
    assert_tells_where_and_how_to_manage(text, html, appointment)
    assert "Sunday 6 December 2026 at 15:00" in text

    cancel_appointment(appointment=appointment, reason="")
    cancelled = sent("Your appointment at Still Waters Spa is cancelled")
    text, html = parts(cancelled)
    book_again = SITE + reverse("appointments:treatment", args=[spa.treatment.slug])
    assert book_again in text and f'href="{book_again}"' in html


def test_the_reminder_says_whether_it_can_still_be_changed_online(ana):
    spa = open_spa()
    appointment = book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 9))
    deliver_owed_notices()
    mail.outbox.clear()

    with time_machine.travel(at(NOW.date(), 10), tick=False):
        call_command("send_reminders", stdout=StringIO())
        reminder = sent("Reminder:")

    text, html = parts(reminder)
    assert_tells_where_and_how_to_manage(text, html, appointment)
    assert "It is too late to change or cancel it online" in text
    assert "It is too late to change or cancel it online" in html


def test_the_held_booking_and_the_decision_emails_have_links_and_no_health_data(
    back_walking, ana, reviewer
):
    ana.full_name = "Anna Private-Signature"
    ana.save()
    screening = screen(
        ana, back_pain_under_care=True, other_conditions="old whiplash", areas_to_avoid=""
    )
    appointment = book_appointment(
        client=ana,
        treatment=back_walking.treatment,
        start=at(IN_FIVE_DAYS, 10),
        health_unchanged=True,
    )
    held = sent("Your booking at Still Waters Spa is held")
    text, html = parts(held)
    manage = SITE + reverse("appointments:detail", args=[appointment.pk])
    assert manage in text and f'href="{manage}"' in html

    approve_screening(screening=screening, by=reviewer, note="left hip replacement is fine")
    decision = sent("Your health screening is cleared")

    text, html = parts(decision)
    for part in (text, html):
        assert manage in part
        assert SITE + reverse("screening:mine") in part
        assert ADDRESS in part and MAP in part
    assert_no_health_data(held, decision)


def test_no_email_part_carries_the_appointments_of_released_holds_wrongly(ana):
    # Expired holds are released by the spa with its own reason: the email says it plainly.
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana, back_pain_under_care=True)
    book_appointment(
        client=ana, treatment=spa.treatment, start=at(IN_FIVE_DAYS, 10), health_unchanged=True
    )
    with time_machine.travel(at(IN_FIVE_DAYS, 8), tick=False):
        release_expired_holds()
        cancelled = sent("Your appointment at Still Waters Spa is cancelled")
    text, html = parts(cancelled)
    assert "The health review was not completed in time." in text
    assert "The health review was not completed in time." in html
