"""The back-walking gate for the whole life of a booking, in real Chromium.

A therapist stops a session, a reviewer declines the screening, and the client's
other back-walking booking is cancelled by the spa: the client reads why, and no
health detail. And a 17-year-old is told the exact day they can book from.
"""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment, PreSessionCheck, Qualification, Therapist
from appointments.services import book_appointment
from clients.models import Client
from screening.models import HealthScreening
from tests.factories import PASSWORD
from tests.scheduling import open_spa
from tests.screenings import screen
from tests.two_factor import app_ready, code_if_asked

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Crispy marks required fields with a hidden asterisk inside the label text.
PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")

BACK_WALKING = "Ashiatsu back-walking"
# Health details: the client must never see either of them.
STOP_REASON = "Says her lower back has been numb since a fall on the stairs"
REVIEW_NOTE = "Numbness after a fall: needs a doctor's letter first"


def log_in(page: Page, email: str) -> None:
    user = app_ready(email)
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_if_asked(page, user)
    expect(page).not_to_have_url(re.compile(r"/log-in/"))


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A wall-clock time in the spa's time zone (daylight saving included)."""
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone()
    )


def long_day(day: datetime.date) -> str:
    """As the cancellation reason names a day: "Sunday 6 December"."""
    return f"{day:%A} {day.day} {day:%B}"


@pytest.mark.usefixtures("reviewer")
def test_a_stop_then_a_decline_cancels_the_clients_other_booking_and_she_reads_why(
    page: Page, second_page: Page, ana: Client, maya: Therapist
):
    # The session is tomorrow (real calendar) at 11:00 and the check opens at 10:00, so
    # the journey runs at 10:30 then, whatever the real time of day: the live server is
    # a thread of this process and reads the travelled clock. Forward, never back, so
    # the session cookies the server sets are not already expired for Chromium.
    session_day = timezone.localdate() + datetime.timedelta(days=1)
    later_day = session_day + datetime.timedelta(days=4)
    therapist_arrives = local(session_day, 10, 30)

    spa = open_spa(back_walking=True, name=BACK_WALKING, therapists=0)
    Qualification.objects.create(therapist=maya, treatment=spa.treatment)

    # The evening before, Ana was cleared and booked both sessions online.
    with time_machine.travel(local(session_day - datetime.timedelta(days=1), 18), tick=False):
        screening = screen(ana)
        today = book_appointment(
            client=ana,
            treatment=spa.treatment,
            start=local(session_day, 11),
            therapist=maya,
            health_unchanged=True,
        )
        later = book_appointment(
            client=ana,
            treatment=spa.treatment,
            start=local(later_day, 11),
            therapist=maya,
            health_unchanged=True,
        )
    assert today.status == later.status == Appointment.Status.CONFIRMED

    with time_machine.travel(therapist_arrives, tick=True):
        # Maya, with Ana in the room, stops the session.
        log_in(second_page, "maya@example.com")
        expect(second_page.get_by_role("heading", level=1)).to_contain_text("Today")
        item = second_page.locator("li.schedule-item", has_text="Ana Example")
        expect(item).to_contain_text("11:00–12:00 Ana Example")
        item.get_by_role("link", name=re.compile("Ana Example")).click()
        expect(second_page.get_by_role("heading", name=re.compile("Ana Example"))).to_be_visible()
        second_page.get_by_label("Or stop the session, and say why").fill(STOP_REASON)
        second_page.get_by_role("button", name="Stop the session").click()
        expect(second_page.get_by_text("Session stopped. Staff will follow up.")).to_be_visible()
        check = second_page.get_by_role("region", name="Check before the session")
        expect(check).to_contain_text("Session stopped at 10:3")
        expect(check).to_contain_text(STOP_REASON)
        expect(second_page.get_by_text("Staff follow-up", exact=True)).to_be_visible()
        expect(second_page.get_by_role("button", name="Stop the session")).to_have_count(0)

        later.refresh_from_db()
        assert later.status == Appointment.Status.PENDING_REVIEW  # held for the review
        assert today.pre_session_check.outcome == PreSessionCheck.Outcome.STOPPED

        # A reviewer finds the screening back in the queue, with the therapist's reason.
        second_page.context.clear_cookies()
        reviewer = app_ready("reviewer@example.com")
        second_page.goto("/admin/login/")
        second_page.get_by_label(re.compile(r"^Email")).fill("reviewer@example.com")
        second_page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
        second_page.get_by_role("button", name="Log in").click()
        code_if_asked(second_page, reviewer)
        second_page.get_by_role("link", name=re.compile(r"^Screenings to review")).first.click()
        expect(second_page.get_by_text("1 screening to review")).to_be_visible()
        second_page.get_by_role("link", name=str(screening)).click()
        expect(second_page.get_by_role("heading", name=str(screening))).to_be_visible()
        expect(second_page.get_by_text(f"Session stopped: {STOP_REASON}")).to_be_visible()
        second_page.get_by_role("radio", name=re.compile(r"^Decline")).check()
        second_page.get_by_label("Why (for staff only)").fill(REVIEW_NOTE)
        second_page.get_by_role("button", name="Save", exact=True).click()
        expect(second_page.get_by_text("was changed successfully")).to_be_visible()
        expect(second_page.get_by_text("0 screenings to review")).to_be_visible()

        # Ana, at home, finds the later session cancelled by the spa.
        log_in(page, "ana@example.com")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="My appointments"
        ).click()
        cancelled = page.get_by_role("region", name="Cancelled")
        row = cancelled.get_by_role("listitem").filter(has_text=f"{later_day:%a} {later_day.day}")
        expect(row).to_contain_text(f"{later_day:%a} {later_day.day} {later_day:%b %Y}, 11:00")
        expect(row).to_contain_text("Maya")
        expect(row).to_contain_text("Cancelled")
        expect(page.get_by_role("region", name="Upcoming")).not_to_contain_text(
            f"{later_day:%a} {later_day.day} {later_day:%b %Y}"
        )
        seen = [page.content()]

        row.get_by_role("link", name=BACK_WALKING).click()
        expect(page.get_by_role("heading", name=BACK_WALKING)).to_be_visible()
        reason = (
            "We have cancelled this appointment because your health screening no longer clears "
            f"you for back-walking on {long_day(later_day)}. Please call us on "
            f"{settings.SPA_PHONE} to talk about it or to change to another treatment."
        )
        expect(page.get_by_text(f"Reason: {reason}")).to_be_visible()
        expect(page.get_by_role("link", name="Cancel appointment")).to_have_count(0)
        seen.append(page.content())

        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="My health screening"
        ).click()
        expect(page.get_by_text("Not cleared by our staff")).to_be_visible()
        seen.append(page.content())

    for html in seen:
        for detail in ("numb", "stairs", "letter"):
            assert detail not in html.lower()
    later.refresh_from_db()
    assert later.status == Appointment.Status.CANCELLED
    assert later.needs_follow_up
    assert later.cancellation_reason == reason
    screening.refresh_from_db()
    assert screening.review == HealthScreening.Review.DECLINED


def test_a_seventeen_year_old_sees_the_day_they_can_book_back_walking_from(
    page: Page, theo: Client
):
    open_spa(back_walking=True, name=BACK_WALKING)
    born = theo.date_of_birth
    eighteenth = born.replace(year=born.year + 18)

    log_in(page, "theo@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Treatments").click()
    page.get_by_role("link", name=f"See free times for {BACK_WALKING}").click()
    expect(page.get_by_role("heading", name=BACK_WALKING, exact=True)).to_be_visible()

    expect(
        page.get_by_text(
            f"You can book back-walking from {eighteenth.day} {eighteenth:%B %Y}, "
            "your 18th birthday. Until then you are welcome to book our other treatments."
        )
    ).to_be_visible()
    expect(
        page.get_by_text(
            "you must be 18 or over both on the day you book and on the day of your appointment"
        )
    ).to_be_visible()
    # Not even days after the birthday: they must be 18 on the day they book, too.
    expect(page.get_by_role("link", name=re.compile(r"free times?$"))).to_have_count(0)
    expect(page.locator("td.has-times a")).to_have_count(0)
    expect(page.get_by_role("link", name="See our other treatments")).to_be_visible()
