"""The waitlist in real Chromium: a client waits for a fully booked day, another client
cancels, the waiting client is emailed and books the time from the email's link."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment, WaitlistEntry
from tests.appointments.test_waitlist import OFFER_LINK, fill_the_day, local, open_waitlist_spa
from tests.factories import PASSWORD, ClientFactory
from tests.notices import deliver_owed_notices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")


def log_in(page: Page, email: str) -> None:
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/log-in/"))


def test_a_client_waits_for_a_full_day_and_books_the_time_another_client_gives_up(
    page: Page, second_page: Page, live_server
):
    spa = open_waitlist_spa()
    day = timezone.localdate() + datetime.timedelta(days=3)
    fill_the_day(spa, day)  # Bea has its 10:00
    ClientFactory(user__email="wren@example.com", full_name="Wren Waiting")
    long_day = f"{day:%A} {day.day} {day:%B}"

    # Wren finds the day full and joins its waitlist.
    log_in(page, "wren@example.com")
    page.goto(reverse("appointments:day", args=[spa.swedish.slug, day]))
    expect(page.get_by_text("No free times on this day.")).to_be_visible()
    page.get_by_role("button", name="Join the waitlist for this day").click()
    expect(
        page.get_by_text(f"You are on the waitlist for Swedish massage on {long_day}")
    ).to_be_visible()
    waiting = page.get_by_role("region", name="Waitlist")
    expect(waiting).to_contain_text("Swedish massage")
    expect(waiting.get_by_role("button", name=re.compile("Leave the waitlist"))).to_be_visible()

    # Bea cancels her 10:00.
    log_in(second_page, "bea@example.com")
    second_page.get_by_role("link", name="My appointments").first.click()
    second_page.get_by_role("region", name="Upcoming").get_by_role(
        "link", name="Swedish massage"
    ).first.click()
    second_page.get_by_role("link", name="Cancel appointment").click()
    second_page.get_by_role("button", name="Yes, cancel it").click()
    expect(second_page.get_by_text("Your appointment is cancelled.")).to_be_visible()

    # The sender runs: Wren is emailed the time, with a link that books it.
    deliver_owed_notices()
    [email] = [m for m in mail.outbox if m.to == ["wren@example.com"]]
    assert email.subject == f"A time came free: Swedish massage on {long_day} at 10:00"
    page.goto(OFFER_LINK.search(email.body)[1])

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    expect(page.get_by_text("This time is still free.")).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    appointment = Appointment.objects.get(client__user__email="wren@example.com")
    assert appointment.starts_at == local(day, 10)
    assert WaitlistEntry.objects.get().state == WaitlistEntry.State.BOOKED
    page.get_by_role("link", name="My appointments").first.click()
    expect(page.get_by_role("region", name="Upcoming")).to_contain_text("Swedish massage")
    expect(page.get_by_role("region", name="Waitlist")).to_have_count(0)
