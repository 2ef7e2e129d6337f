"""Back-walking journeys in real Chromium: the screening detour, the age gate, a staff review."""

import datetime
import re

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.forms import format_start
from appointments.models import Appointment
from clients.models import Client, User
from screening.models import HealthScreening
from tests.clients.emails import sign_up_link
from tests.factories import PASSWORD, ClientFactory, UserFactory
from tests.scheduling import open_spa
from tests.two_factor import app_ready, code_if_asked, force_login_verified

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Crispy marks required fields with a hidden asterisk inside the label text.
PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")
SIGNATURE_LABEL = re.compile(r"^\s*Type your full name to sign\W*$")
CONSENT = re.compile(r"^\s*I agree that the spa stores these answers")

BACK_WALKING = "Ashiatsu back-walking"
SWEDISH = "Swedish massage"
ADULTS_ONLY = "only for adults aged 18 and over"

BACK_PAIN_QUESTION = "Is a doctor or physiotherapist treating you for back pain at the moment?"


def day_ahead(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def long_day(day: datetime.date) -> str:
    """A day as the calendar and the list of times name it: "Friday 4 December"."""
    return f"{day:%A} {day.day} {day:%B}"


def question(page: Page, text: str):
    return page.get_by_role("group", name=re.compile("^" + re.escape(text)))


def log_in(page: Page, email: str) -> None:
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def open_treatment(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Treatments").click()
    page.get_by_role("link", name=f"See free times for {name}").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def pick_time(page: Page, day: datetime.date, time: str) -> None:
    """From a treatment's calendar: the day, then the time, up to the confirmation page."""
    page.get_by_role("link", name=re.compile(rf"^{long_day(day)}: free times$")).click()
    expect(page.get_by_role("heading", name=f"Free times on {long_day(day)}")).to_be_visible()
    page.get_by_role("link", name=f"{time} on {long_day(day)}").click()
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()


def fill_in_screening(page: Page, *, full_name: str, yes_to: str | None = None) -> None:
    """Answer "No" to every health question, as a healthy person does, and "Yes" to `yes_to`."""
    expect(page.get_by_role("heading", name="Health screening for back-walking")).to_be_visible()
    for radio in page.locator("input[type=radio][value=no], input[type=radio][value=normal]").all():
        radio.check()
    if yes_to:
        question(page, yes_to).get_by_role("radio", name="Yes", exact=True).check()
    question(page, "What pressure do you like?").get_by_role("radio", name="Firm").check()
    page.get_by_role("checkbox", name=CONSENT).check()
    page.get_by_label(SIGNATURE_LABEL).fill(full_name)
    page.get_by_role("button", name="Send my answers").click()


def open_in_review_queue(page: Page, email: str, screening: HealthScreening) -> None:
    """A reviewer logs in to the admin and opens `screening` from the review queue."""
    user = app_ready(email)
    page.goto("/admin/login/")
    page.get_by_label(re.compile(r"^Email")).fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_if_asked(page, user)
    page.get_by_role("link", name=re.compile(r"^Screenings to review")).first.click()
    page.get_by_role("link", name=str(screening)).click()
    expect(page.get_by_role("heading", name=str(screening))).to_be_visible()


@pytest.fixture
def admin_page(second_page: Page) -> Page:
    """The reviewer's browser (its own cookies), watched like the client's."""
    return second_page


def test_new_adult_fills_in_the_screening_mid_booking_and_comes_back_to_the_same_time(
    page: Page,
):
    open_spa(back_walking=True, name=BACK_WALKING)
    day = day_ahead(3)

    page.goto("/sign-up/")
    page.get_by_label("Full name").fill("Ada Ashby")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Phone number").fill("07700 900455")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("1991")
    page.get_by_label(PASSWORD_LABEL).fill("barefoot-and-balanced-7")
    page.get_by_label("Password again").fill("barefoot-and-balanced-7")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(sign_up_link("ada@example.com"))
    page.get_by_role("button", name="Finish creating my account").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    open_treatment(page, BACK_WALKING)
    page.get_by_role("link", name=re.compile(rf"^{long_day(day)}: free times$")).click()
    page.get_by_role("link", name=f"11:00 on {long_day(day)}").click()
    # No screening yet: the time picked leads straight to the questionnaire, and back.
    expect(page.get_by_text("please fill in our health screening")).to_be_visible()
    expect(page.get_by_text("We keep the time you picked in mind")).to_be_visible()
    fill_in_screening(page, full_name="Ada Ashby")
    when = f"{long_day(day)} {day.year} at 11:00"

    # Back on the confirmation page, for the time picked before the detour.
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    expect(page.get_by_text("Thank you. You are cleared for back-walking.")).to_be_visible()
    expect(page.get_by_text(when)).to_be_visible()
    page.get_by_role("radio", name="No, nothing has changed").check()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    client = Client.objects.get(user__email="ada@example.com")
    screening = HealthScreening.objects.get(client=client)
    assert screening.outcome == HealthScreening.Outcome.CLEARED
    assert screening.therapist_notes == ["Prefers firm pressure"]
    appointment = Appointment.objects.get()
    assert appointment.client == client
    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.screening == screening
    start = timezone.localtime(appointment.starts_at)
    assert (start.date(), start.time()) == (day, datetime.time(11, 0))


@pytest.mark.usefixtures("theo")
def test_a_seventeen_year_old_is_kindly_refused_back_walking_but_can_book_a_massage(page: Page):
    back_walking = open_spa(back_walking=True, name=BACK_WALKING)
    open_spa(name=SWEDISH)
    day = day_ahead(3)  # before his 18th birthday

    log_in(page, "theo@example.com")
    open_treatment(page, BACK_WALKING)
    expect(page.get_by_text("your 18th birthday")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"free times?$"))).to_have_count(0)
    expect(page.locator("td.has-times a")).to_have_count(0)

    # Typing the addresses of a day or a time does not get round it either.
    page.goto(reverse("appointments:day", args=[back_walking.treatment.slug, day]))
    expect(page.get_by_text("your 18th birthday")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(rf" on {long_day(day)}$"))).to_have_count(0)
    start = datetime.datetime.combine(
        day, datetime.time(11), tzinfo=timezone.get_current_timezone()
    )
    page.goto(
        reverse("appointments:book", args=[back_walking.treatment.slug])
        + f"?start={format_start(start)}&therapist=any"
    )
    expect(page.get_by_text(ADULTS_ONLY)).to_be_visible()
    expect(page.get_by_role("button", name="Confirm booking")).to_have_count(0)

    page.get_by_role("link", name="See our other treatments").click()
    page.get_by_role("link", name=f"See free times for {SWEDISH}").click()
    expect(page.get_by_role("heading", name=SWEDISH, exact=True)).to_be_visible()
    expect(page.get_by_text(ADULTS_ONLY)).to_have_count(0)
    pick_time(page, day, "11:00")
    expect(page.get_by_text(f"{long_day(day)} {day.year} at 11:00")).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", name="You are booked in")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.treatment.name == SWEDISH
    assert appointment.client.full_name == "Theo Teen"
    assert not Appointment.objects.filter(treatment=back_walking.treatment).exists()


def test_a_held_booking_is_confirmed_when_a_reviewer_approves_the_screening(
    page: Page, admin_page: Page, reviewer: User
):
    open_spa(back_walking=True, name=BACK_WALKING)
    # Dara as she signs up, before her screening (the dara fixture has sent one already).
    ClientFactory(user__email="dara@example.com", full_name="Dara Byrne")
    outsider = UserFactory(email="frontdesk@example.com", is_staff=True)
    day = day_ahead(4)

    log_in(page, "dara@example.com")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My health screening"
    ).click()
    page.get_by_role("link", name="Fill in the health screening").click()
    fill_in_screening(page, full_name="Dara Byrne", yes_to=BACK_PAIN_QUESTION)
    expect(page.get_by_text("Our staff will review your answers")).to_be_visible()
    expect(page.get_by_text("Waiting for a staff review")).to_be_visible()
    screening = HealthScreening.objects.get(client__full_name="Dara Byrne")
    assert screening.review == HealthScreening.Review.PENDING

    open_treatment(page, BACK_WALKING)
    pick_time(page, day, "14:00")
    page.get_by_role("radio", name="No, nothing has changed").check()
    page.get_by_role("button", name="Request this time").click()

    expect(page.get_by_role("heading", name="We are holding this time for you")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert appointment.screening == screening
    assert appointment.hold_expires_at > timezone.now()
    page.get_by_role("link", name="My appointments").first.click()
    upcoming = page.get_by_role("region", name="Upcoming")
    expect(upcoming).to_contain_text("Waiting for health review")

    # Staff outside the reviewers' group see none of the answers.
    front_desk = force_login_verified(HttpClient(), outsider)
    for model in ("healthscreening", "screeningtoreview"):
        response = front_desk.get(reverse(f"admin:screening_{model}_change", args=[screening.pk]))
        assert response.status_code == 403
        assert "Back pain under medical care" not in response.content.decode()

    open_in_review_queue(admin_page, "reviewer@example.com", screening)
    expect(admin_page.get_by_text("Dara Byrne", exact=True)).to_be_visible()
    expect(admin_page.get_by_text("Back pain under medical care", exact=True)).to_be_visible()
    admin_page.get_by_role("radio", name=re.compile(r"^Approve")).check()
    admin_page.get_by_label("Why (for staff only)").fill("Physio letter seen")
    admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.get_by_text("was changed successfully")).to_be_visible()
    # Decided, it leaves the queue.
    expect(admin_page.get_by_text("0 screenings to review")).to_be_visible()

    page.reload()
    expect(upcoming).to_contain_text(BACK_WALKING)
    expect(upcoming).to_contain_text("Confirmed")
    appointment.refresh_from_db()
    screening.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED
    assert screening.review == HealthScreening.Review.APPROVED
    assert screening.reviewed_by == reviewer


@pytest.fixture
def waiting_screening(dara: Client, reviewer: User) -> HealthScreening:
    """Dara's screening in the review queue, and a reviewer (reviewer@example.com) to decide it."""
    return dara.screenings.get()


def test_reviewer_can_open_the_screening_they_just_decided_from_the_success_message(
    admin_page: Page, waiting_screening: HealthScreening
):
    open_in_review_queue(admin_page, "reviewer@example.com", waiting_screening)
    admin_page.get_by_role("radio", name=re.compile(r"^Approve")).check()
    admin_page.get_by_label("Why (for staff only)").fill("Physio letter seen")
    admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.get_by_text("was changed successfully")).to_be_visible()

    admin_page.get_by_role("link", name=str(waiting_screening)).click()
    expect(admin_page.get_by_text("doesn\u2019t exist")).to_have_count(0, timeout=1_000)
    expect(admin_page.get_by_role("heading", name=str(waiting_screening))).to_be_visible(
        timeout=1_000
    )


def test_saving_a_review_without_a_decision_says_so_and_keeps_the_notes_typed(
    admin_page: Page, waiting_screening: HealthScreening
):
    open_in_review_queue(admin_page, "reviewer@example.com", waiting_screening)
    admin_page.get_by_label("Note for the therapist").fill("No pressure on the lower back.")
    admin_page.get_by_role("button", name="Save", exact=True).click()

    expect(admin_page.get_by_text("was changed successfully")).to_have_count(0, timeout=1_000)
    expect(admin_page.get_by_label("Note for the therapist")).to_have_value(
        "No pressure on the lower back.", timeout=1_000
    )
    waiting_screening.refresh_from_db()
    assert waiting_screening.review == HealthScreening.Review.PENDING
