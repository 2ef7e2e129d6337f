"""New clients' journeys as they would take them, at desktop and phone size: from a time
picked as a guest to its confirmation, and moving a booking. Every page is checked with
axe-core on the way (tests/browser/conftest.py)."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment
from appointments.services import book_appointment
from clients.models import Client
from screening.models import HealthScreening
from tests.browser.test_back_walking_journeys import (
    BACK_WALKING,
    PASSWORD_LABEL,
    SWEDISH,
    day_ahead,
    fill_in_screening,
    log_in,
    long_day,
    question,
)
from tests.clients.emails import sign_up_link
from tests.factories import ClientFactory
from tests.scheduling import open_spa

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOST_SCREENS = 6


def local(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def day_link(page: Page, day: datetime.date):
    return page.get_by_role("link", name=re.compile(rf"^{long_day(day)}: free times"))


@pytest.mark.parametrize("window", ["page", "phone"])
def test_a_guest_picks_a_back_walking_time_signs_up_and_lands_on_its_confirmation(
    request, live_server, window
):
    # live_server named here too: pytest-django opens ALLOWED_HOSTS to it only then.
    page: Page = request.getfixturevalue(window)
    open_spa(back_walking=True, name=BACK_WALKING)
    day = day_ahead(3)
    page.goto("/treatments/")
    page.get_by_role("link", name=f"See free times for {BACK_WALKING}").click()
    day_link(page, day).click()
    expect(page.get_by_role("heading", name=f"Free times on {long_day(day)}")).to_be_visible()
    page.wait_for_load_state("load")
    screens: list[str] = []
    page.on("load", lambda loaded: screens.append(loaded.url))

    page.get_by_role("link", name=f"11:00 on {long_day(day)}").click()

    # 1. Log in, or make an account and come back here.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    # 2. The account.
    page.get_by_label("Full name").fill("Ada Ashby")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Phone number").fill("07700 900455")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("1991")
    page.get_by_label(PASSWORD_LABEL).fill("barefoot-and-balanced-7")
    page.get_by_label("Password again").fill("barefoot-and-balanced-7")
    page.get_by_role("button", name="Create account").click()
    # 3. Check your email; 4. its link, which finishes the account.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(sign_up_link("ada@example.com"))
    page.get_by_role("button", name="Finish creating my account").click()
    # 5. The health screening, straight away, as back-walking needs one.
    expect(page.get_by_text("We keep the time you picked in mind")).to_be_visible()
    fill_in_screening(page, full_name="Ada Ashby")
    # 6. The confirmation of the very time picked as a guest.
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    expect(page.get_by_text(f"{long_day(day)} {day.year} at 11:00")).to_be_visible()
    page.wait_for_load_state("load")  # its load counted too
    assert len(screens) <= MOST_SCREENS, screens
    assert "/health-screening/new/" in screens[-2] and "/book/" in screens[-1]
    expect(page.get_by_text("You can change or cancel it online until")).to_be_visible()

    page.get_by_role("radio", name="No, nothing has changed").check()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    client = Client.objects.get(user__email="ada@example.com")
    appointment = Appointment.objects.get(client=client)
    assert timezone.localtime(appointment.starts_at) == local(day, 11)
    assert appointment.screening == HealthScreening.objects.get(client=client)
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    assert download.value.suggested_filename == "appointment.ics"
    assert b"BEGIN:VEVENT" in download.value.path().read_bytes()


@pytest.mark.parametrize("window", ["page", "phone"])
def test_a_client_moves_a_booking_with_the_calendar_and_a_confirmation(
    request, live_server, window
):
    page: Page = request.getfixturevalue(window)
    spa = open_spa(name=SWEDISH)
    wren = ClientFactory(user__email="wren@example.com", full_name="Wren Walker")
    day, new_day = day_ahead(9), day_ahead(10)
    appointment = book_appointment(client=wren, treatment=spa.treatment, start=local(day, 10))

    log_in(page, "wren@example.com")
    page.get_by_role("link", name="My appointments").filter(visible=True).first.click()
    page.get_by_role("region", name="Upcoming").get_by_role("link", name=SWEDISH).click()
    page.get_by_role("link", name="Change time").click()

    # The calendar opens on the weeks of the appointment, its day marked.
    expect(page.get_by_role("heading", name="Choose a new day")).to_be_visible()
    expect(day_link(page, day)).to_contain_text("your time now")
    expect(page.get_by_role("link", name="Earlier weeks")).to_be_visible()
    day_link(page, new_day).click()
    expect(page.get_by_role("heading", name=f"Free times on {long_day(new_day)}")).to_be_visible()
    page.get_by_role("link", name=f"14:00 on {long_day(new_day)}").click()

    # Nothing moves before the client has seen both times and the rule for the new one.
    expect(page.get_by_role("heading", name="Move your appointment?")).to_be_visible()
    expect(page.get_by_text(f"{long_day(day)} {day.year} at 10:00")).to_be_visible()
    expect(page.get_by_text(f"{long_day(new_day)} {new_day.year} at 14:00")).to_be_visible()
    expect(page.get_by_text("You can change or cancel it online until")).to_be_visible()
    appointment.refresh_from_db()
    assert timezone.localtime(appointment.starts_at) == local(day, 10)
    page.get_by_role("button", name="Move my appointment").click()

    expect(page.get_by_text("Your appointment has moved.")).to_be_visible()
    appointment.refresh_from_db()
    assert timezone.localtime(appointment.starts_at) == local(new_day, 14)


def test_the_questionnaire_asks_for_a_date_only_after_a_yes(phone: Page):
    ClientFactory(user__email="ada@example.com")
    log_in(phone, "ada@example.com")
    phone.goto("/health-screening/new/")
    surgery = question(phone, "Have you had surgery in the last 6 months?")
    date_box = phone.get_by_role("group", name=re.compile("^If yes: date of the surgery"))

    expect(date_box).to_be_hidden()
    surgery.get_by_role("radio", name="Yes", exact=True).check()
    expect(date_box).to_be_visible()
    surgery.get_by_role("radio", name="No", exact=True).check()
    expect(date_box).to_be_hidden()

    # Sent unanswered: the summary at the top has the focus, and links to each question.
    phone.get_by_role("button", name="Send my answers").click()
    summary = phone.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Answer yes or no: Are you pregnant, or could you be?").click()
    expect(
        question(phone, "Are you pregnant, or could you be?").get_by_role("radio", name="Yes")
    ).to_be_focused()
