"""The front desk's day, in real Chromium: a receptionist books a caller, is refused
back-walking for a client without a screening, moves a booking and marks an arrival."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.free_times import local_days
from appointments.models import Appointment
from clients.models import Client
from tests.appointments.front_desk import front_desk_user
from tests.factories import PASSWORD, ClientFactory
from tests.scheduling import open_spa
from tests.two_factor import authenticator_app, type_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")
NO_SCREENING = (
    "This client has no health screening on file: they must fill one in (we can email them "
    "the link) before back-walking."
)


def log_in_at_the_desk(page: Page, email: str) -> None:
    user = front_desk_user(email)
    authenticator_app(user)  # set up at an earlier sign-in
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    type_code(page, user)


def test_a_receptionist_books_a_caller_is_refused_back_walking_moves_and_marks_an_arrival(
    page: Page,
):
    swedish = open_spa(therapists=2, rooms=2, name="Swedish massage")
    maya, noor = swedish.therapists
    maya.display_name, noor.display_name = "Maya", "Noor"
    maya.save(), noor.save()
    back_walking = open_spa(back_walking=True, name="Ashiatsu back-walking")
    back_walking.therapist.display_name = "Kai"
    back_walking.therapist.save()
    ana = ClientFactory(user__email="ana@example.com", full_name="Ana Example")
    # Ana's massage today, whatever the hour the test runs at.
    now = timezone.now().replace(second=0, microsecond=0)
    start = max(local_days(timezone.localdate())[0], now - datetime.timedelta(minutes=30))
    Appointment.objects.create(
        client=ana,
        therapist=maya,
        treatment=swedish.treatment,
        room=swedish.rooms[0],
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        blocked_until=start + datetime.timedelta(hours=1, minutes=15),
    )
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    log_in_at_the_desk(page, "desk@example.com")
    page.goto("/front-desk/")
    expect(page.get_by_role("heading", name=re.compile("^Today's work"))).to_be_visible()
    arrivals = page.get_by_role("region", name=re.compile("^Arrivals today"))
    expect(arrivals).to_contain_text("Ana Example")

    # Open today's day book, then the next day, and book a new caller with Noor at 10:00.
    page.get_by_role("link", name="Open today's day book").click()
    expect(page.get_by_role("columnheader", name=re.compile("^Noor"))).to_be_visible()
    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{tomorrow:%A %-d %B %Y}")
    page.get_by_label("Free times for").select_option(label="Swedish massage")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_role("link", name="Book 10:00 with Noor").click()
    expect(page.get_by_role("heading", name="Who is it for?")).to_be_visible()
    new_client = page.get_by_role("region", name="New client")
    new_client.get_by_label("Full name").fill("Cal Caller")
    new_client.get_by_label("Phone number").fill("07700 900333")
    new_client.get_by_label("Email address (optional)").fill("cal@example.com")
    new_client.get_by_label("Day").fill("14")
    new_client.get_by_label("Month").fill("6")
    new_client.get_by_label("Year").fill("1985")
    new_client.get_by_role("button", name="Add client and continue").click()
    expect(page.get_by_text("Cal Caller is added as a client.")).to_be_visible()
    page.get_by_role("button", name="Book 10:00 for Cal Caller").click()
    expect(
        page.get_by_text(re.compile(r"^Booked Cal Caller: Swedish massage with Noor"))
    ).to_be_visible()
    expect(page.get_by_role("link", name="10:00–11:00 Cal Caller")).to_be_visible()
    cal = Client.objects.get(full_name="Cal Caller")
    assert not cal.user.has_usable_password()

    # Back-walking for Ana, who has no screening: refused, and told why in staff words.
    page.get_by_label("Free times for").select_option(label="Ashiatsu back-walking")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_role("link", name="Book 12:00 with Kai").click()
    page.get_by_label("Find a client").fill("ana")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("^Choose Ana Example")).click()
    page.get_by_label(re.compile("^The client confirms nothing in their health")).check()
    page.get_by_role("button", name="Book 12:00 for Ana Example").click()
    expect(page.get_by_role("alert")).to_contain_text(NO_SCREENING)
    assert not Appointment.objects.filter(client=ana, treatment=back_walking.treatment).exists()

    # Move Cal's massage: open it from the day book, pick Maya at 14:00.
    page.goto(f"/front-desk/day/?date={tomorrow:%Y-%m-%d}")
    page.get_by_role("link", name="10:00–11:00 Cal Caller").click()
    page.get_by_role("link", name="Move").click()
    page.get_by_label("With").select_option(label="Maya")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="14:00 with Maya").click()
    page.get_by_role("button", name="Move to 14:00").click()
    expect(page.get_by_text(re.compile(r"^Moved Cal Caller to"))).to_be_visible()
    expect(page.get_by_role("link", name="14:00–15:00 Cal Caller")).to_be_visible()
    moved = Appointment.objects.get(client=cal)
    assert (timezone.localtime(moved.starts_at).time(), moved.therapist) == (
        datetime.time(14),
        maya,
    )

    # Ana walks in.
    page.get_by_role("link", name="Today's work").click()
    page.get_by_role("button", name="Mark Ana Example arrived").click()
    expect(page.get_by_text("Ana Example has arrived.")).to_be_visible()
    expect(arrivals).to_contain_text("Arrived")
    assert Appointment.objects.get(client=ana).arrived_at is not None
