import datetime
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment
from tests.factories import PASSWORD, ClientFactory
from tests.scheduling import open_spa
from tests.two_factor import app_ready, code_if_asked

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")


def log_in(page: Page, email: str) -> None:
    user = app_ready(email)
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_if_asked(page, user)


def book_a_swedish_massage(page: Page) -> Appointment:
    log_in(page, "walker@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Treatments").click()
    page.get_by_role("link", name="See free times for Swedish massage").click()
    # A day at least three days ahead (they work every day), then its first free time.
    page.locator("td.has-times a").nth(3).click()
    expect(page.get_by_role("heading", name=re.compile("Free times on"))).to_be_visible()
    page.locator("ul.times a").first.click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    return Appointment.objects.select_related("therapist__user", "room").get()


def test_therapist_finds_a_new_booking_and_marks_it_completed(
    page: Page, second_page: Page, live_server
):
    open_spa(therapists=2, rooms=2, name="Swedish massage")
    ClientFactory(user__email="walker@example.com", full_name="Wren Walker")
    appointment = book_a_swedish_massage(page)
    start = timezone.localtime(appointment.starts_at)
    end = timezone.localtime(appointment.ends_at)

    # The therapist, on their own device.
    therapist = second_page
    log_in(therapist, appointment.therapist.user.email)
    expect(therapist).to_have_url(f"{live_server.url}/schedule/")
    expect(
        therapist.get_by_role("navigation", name="Main").get_by_role("link", name="My schedule")
    ).to_be_visible()

    therapist.goto(f"/schedule/?date={start:%Y-%m-%d}")
    expect(therapist.get_by_role("heading", level=1)).to_contain_text(f"{start:%A}")
    item = therapist.locator("li.schedule-item", has_text="Wren Walker")
    expect(item).to_contain_text(f"{start:%H:%M}–{end:%H:%M} Wren Walker")
    expect(item).to_contain_text(f"Swedish massage · {appointment.room.name}")
    expect(item).to_contain_text("First visit")
    expect(item).to_contain_text("Confirmed")
    item.get_by_role("link", name=re.compile("Wren Walker")).click()

    expect(therapist.get_by_role("heading", name=re.compile("Wren Walker"))).to_be_visible()
    expect(therapist.get_by_text("once it has started")).to_be_visible()
    expect(therapist.get_by_role("button", name="Mark completed")).to_have_count(0)

    # The live server runs in a thread of this process, so it sees the travelled clock.
    with time_machine.travel(appointment.starts_at + datetime.timedelta(minutes=5), tick=True):
        # Days later: staff sessions end after 30 minutes idle, so she logs in again.
        log_in(therapist, appointment.therapist.user.email)
        therapist.goto(f"/schedule/appointments/{appointment.pk}/")
        therapist.get_by_role("button", name="Mark completed").click()
        expect(therapist.get_by_text("Marked as completed.")).to_be_visible()
        expect(therapist.locator(".badge.status-completed")).to_have_text("Completed")

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
