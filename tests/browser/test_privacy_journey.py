"""A client's right of access and right to erasure, end to end in real Chromium.

Ana reads everything the spa holds on her, downloads it as a JSON file with her health
answers in it, and asks for her data to be deleted; a superuser, signed in with a second
factor, carries the request out in the admin; afterwards her name and her answers are on
no page of the admin nor on her therapist's schedule, and she can no longer log in.
"""

import datetime
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment, Qualification, Therapist
from clients.models import Client, ErasureRequest
from screening.models import HealthScreening
from tests.factories import PASSWORD
from tests.scheduling import open_spa
from tests.screenings import screen
from tests.two_factor import app_ready, code_if_asked

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Crispy marks required fields with a hidden asterisk inside the label text.
PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")

NAME = "Ana Example"
# A health detail in her own words: she sees it in her data, and then nobody does.
ANSWER = "Sciatica after a fall"


def local(day: datetime.date, hour: int) -> datetime.datetime:
    """A wall-clock time in the spa's time zone."""
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


def appointment(client: Client, therapist: Therapist, spa, day: datetime.date) -> Appointment:
    start = local(day, 11)
    return Appointment.objects.create(
        client=client,
        therapist=therapist,
        treatment=spa.treatment,
        room=spa.room,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        blocked_until=start + datetime.timedelta(hours=1, minutes=15),
    )


def log_in_on_the_site(page: Page, email: str) -> None:
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_in(page: Page, email: str) -> None:
    user = app_ready(email)
    log_in_on_the_site(page, email)
    code_if_asked(page, user)
    expect(page).not_to_have_url(re.compile(r"/log-in/"))


def sign_in_to_the_admin(page: Page, email: str) -> None:
    user = app_ready(email)
    page.goto("/admin/login/")
    page.get_by_label(re.compile(r"^Email")).fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_if_asked(page, user)
    expect(page.get_by_role("heading", name="Run the spa")).to_be_visible()


def assert_nothing_of_ana(page: Page) -> None:
    html = page.content()
    assert NAME not in html, page.url
    assert "Sciatica" not in html, page.url


@pytest.mark.usefixtures("staff_user")
def test_a_client_downloads_her_data_asks_for_erasure_and_staff_carry_it_out(
    page: Page, second_page: Page, ana: Client, maya: Therapist
):
    spa = open_spa(therapists=0)
    Qualification.objects.create(therapist=maya, treatment=spa.treatment)
    screening = screen(ana, other_conditions=ANSWER)
    today = timezone.localdate()
    yesterday, tomorrow = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    past = appointment(ana, maya, spa, yesterday)
    upcoming = appointment(ana, maya, spa, tomorrow)

    # Ana reads her data, then downloads it.
    log_in(page, "ana@example.com")
    page.get_by_role("link", name="My account").first.click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.get_by_role("link", name="See or download your data").click()
    expect(page.get_by_role("heading", name="Your data", exact=True)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(NAME)
    expect(page.get_by_role("main")).to_contain_text(ANSWER)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download it as a file (JSON)").click()
    download = downloading.value
    assert re.fullmatch(r"spa-data-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as file:
        data = json.load(file)
    assert data["profile"]["full_name"] == NAME
    assert data["profile"]["email"] == "ana@example.com"
    [held] = data["health_screenings"]
    assert {"answer": ANSWER, "value": ANSWER} in [
        {"answer": a["answer"], "value": a["value"]} for a in held["answers"]
    ]
    assert len(data["appointments"]) == 2

    # She asks for her data to be deleted, from "My account".
    page.get_by_role("link", name="Back to my account").click()
    page.get_by_role("link", name="Ask us to delete your data").click()
    expect(page.get_by_role("heading", name="Delete your data")).to_be_visible()
    page.get_by_role("button", name="Ask the spa to delete my data").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("We have your request to delete your data.")).to_be_visible()
    expect(
        page.get_by_text(
            f"You asked us to delete your data on {today.day} {today:%B %Y}. "
            "Our staff are dealing with it."
        )
    ).to_be_visible()
    expect(page.get_by_role("link", name="Ask us to delete your data")).to_have_count(0)
    [request] = ErasureRequest.objects.filter(client=ana)
    assert request.state == ErasureRequest.State.REQUESTED

    # Maya's schedule names Ana on both days, before.
    log_in(second_page, "maya@example.com")
    for day in (yesterday, tomorrow):
        second_page.goto(f"/schedule/?date={day.isoformat()}")
        expect(second_page.locator("main")).to_contain_text(NAME)

    # The superuser, with password and code, carries the request out.
    admin = second_page
    admin.context.clear_cookies()
    sign_in_to_the_admin(admin, "staff@example.com")
    admin.get_by_role("link", name="Clients", exact=True).first.click()
    expect(admin.get_by_role("link", name=NAME)).to_be_visible()  # there, before
    admin.goto("/admin/")
    admin.get_by_role("link", name="Erasure requests").first.click()
    admin.get_by_role("link", name=str(request)).click()
    expect(admin.get_by_role("heading", name=re.compile("Change erasure request"))).to_be_visible()
    admin.get_by_role("radio", name=re.compile(r"^Carry it out")).check()
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.get_by_text(re.compile(r"^The client is erased"))).to_be_visible()
    assert_nothing_of_ana(admin)

    # Afterwards, no page of the admin names her or holds her answer.
    admin.goto("/admin/")
    assert_nothing_of_ana(admin)  # the recent actions too
    admin.get_by_role("link", name="Clients", exact=True).first.click()
    expect(admin.get_by_role("heading", name=re.compile("client to change"))).to_be_visible()
    assert_nothing_of_ana(admin)
    admin.get_by_role("link", name=f"Erased client #{ana.pk}").click()
    # An erased client's page is read-only.
    expect(admin.get_by_role("heading", name="View client")).to_be_visible()
    assert_nothing_of_ana(admin)
    admin.goto("/admin/appointments/appointment/")
    expect(admin.get_by_role("link", name=re.compile(r"\d")).first).to_be_visible()
    assert_nothing_of_ana(admin)
    admin.goto("/admin/screening/healthscreening/")
    expect(admin.get_by_text("0 health screenings", exact=True)).to_be_visible()
    assert_nothing_of_ana(admin)
    admin.goto("/admin/clients/erasurerequest/")
    assert_nothing_of_ana(admin)

    # Nor does Maya's schedule.
    admin.context.clear_cookies()
    log_in(admin, "maya@example.com")
    for day in (yesterday, tomorrow):
        admin.goto(f"/schedule/?date={day.isoformat()}")
        expect(admin.get_by_role("heading", level=1)).to_be_visible()
        assert_nothing_of_ana(admin)

    # Ana's session is over, and she can no longer log in.
    page.reload()
    expect(page).to_have_url(re.compile(r"/log-in/"))
    log_in_on_the_site(page, "ana@example.com")
    expect(
        page.get_by_text("That email address and password do not match an account.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/log-in/"))

    assert not HealthScreening.objects.filter(pk=screening.pk).exists()
    past.refresh_from_db()
    upcoming.refresh_from_db()
    assert past.status == Appointment.Status.CONFIRMED  # kept, anonymous
    assert upcoming.status == Appointment.Status.CANCELLED
    request.refresh_from_db()
    assert request.state == ErasureRequest.State.CARRIED_OUT
