import re

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Appointment
from tests.factories import PASSWORD, ClientFactory
from tests.scheduling import open_spa

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")


def test_client_books_a_swedish_massage_sees_it_and_cancels_it(page: Page):
    open_spa(therapists=2, rooms=2, name="Swedish massage")
    ClientFactory(user__email="walker@example.com", full_name="Wren Walker")

    page.goto("/log-in/")
    page.get_by_label("Email address").fill("walker@example.com")
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Treatments").click()
    page.get_by_role("link", name="See free times for Swedish massage").click()
    expect(page.get_by_role("heading", name="Swedish massage")).to_be_visible()
    # A day at least three days ahead (they work every day), so it can still be
    # cancelled online; then its first free time.
    page.locator("td.has-times a").nth(3).click()
    expect(page.get_by_role("heading", name=re.compile("Free times on"))).to_be_visible()
    page.locator("ul.times a").first.click()

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    expect(page.get_by_text("Drink plenty of water")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.client.full_name == "Wren Walker"

    page.get_by_role("link", name="My appointments").first.click()
    upcoming = page.get_by_role("region", name="Upcoming")
    upcoming.get_by_role("link", name="Swedish massage").click()
    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()

    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    page.get_by_role("link", name="My appointments").first.click()
    expect(page.get_by_role("region", name="Cancelled")).to_contain_text("Swedish massage")
    expect(page.get_by_role("region", name="Upcoming")).to_contain_text(
        "You have no upcoming appointments."
    )
