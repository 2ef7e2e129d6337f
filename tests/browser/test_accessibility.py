"""axe-core on the pages clients and staff use (every browser test checks the pages it
visits, tests/browser/conftest.py); here, the pages no journey reaches, and the check itself."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from appointments.services import book_appointment
from tests.browser.conftest import accessibility_problems
from tests.factories import PASSWORD, ClientFactory, UserFactory
from tests.scheduling import TOMORROW, at, open_spa
from tests.two_factor import authenticator_app, type_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")


def test_the_check_finds_a_serious_violation(page: Page):
    page.goto("/")
    page.goto("/")  # checked as served, before the test spoils it
    page.evaluate(
        "() => { const img = document.createElement('img'); img.src = '/static/favicon.svg';"
        " document.querySelector('main').append(img); }"
    )

    problems = accessibility_problems(page)

    assert any(" image-alt (critical)" in problem for problem in problems), problems


def log_in_to_the_admin(page: Page, user) -> None:
    authenticator_app(user)
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    type_code(page, user)


def test_the_admin_pages_staff_book_on_pass_axe(page: Page):
    spa = open_spa(name="Swedish massage")
    appointment = book_appointment(
        client=ClientFactory(full_name="Wren Walker"),
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
    )
    staff = UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    log_in_to_the_admin(page, staff)

    for url in (
        reverse("admin:index"),
        reverse("admin:appointments_appointment_changelist"),
        reverse("admin:clients_client_changelist"),  # a search box with help text
        reverse("admin:appointments_appointment_add"),
    ):
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()

    # The three fixes, as a screen reader and a colour-blind person meet them.
    expect(page.get_by_role("textbox", name="Date:")).to_be_visible()
    expect(page.get_by_role("textbox", name="Time:")).to_be_visible()
    expect(page.get_by_role("combobox", name=re.compile(r"^Client:"))).to_be_visible()
    page.goto(reverse("admin:appointments_appointment_change", args=[appointment.pk]))
    breadcrumb = page.locator(".breadcrumbs").get_by_role("link", name="Appointments")
    expect(breadcrumb).to_have_css("text-decoration-line", "underline")
