import re

import pytest
from playwright.sync_api import Page, expect

from clients.models import Client
from tests.clients.emails import sign_up_link

# Crispy marks required fields with a hidden asterisk inside the label text.
PASSWORD = re.compile(r"^\s*Password\W*$")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_client_signs_up_logs_out_and_back_in(page: Page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Full name").fill("Dana Walker")
    page.get_by_label("Email address").fill("dana@example.com")
    page.get_by_label("Phone number").fill("07700 900321")
    page.get_by_label("Day").fill("9")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("1988")
    page.get_by_label(PASSWORD).fill("barefoot-and-balanced-7")
    page.get_by_label("Password again").fill("barefoot-and-balanced-7")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(sign_up_link("dana@example.com"))
    page.get_by_role("button", name="Finish creating my account").click()

    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("Welcome, Dana.")).to_be_visible()
    assert Client.objects.get(user__email="dana@example.com").full_name == "Dana Walker"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My account")).to_have_count(0)

    nav.get_by_role("link", name="Log in").click()
    page.get_by_label("Email address").fill("Dana@Example.com")
    page.get_by_label(PASSWORD).fill("barefoot-and-balanced-7")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text("9 November 1988")).to_be_visible()


def test_sign_up_with_an_impossible_date_shows_the_message_and_keeps_the_answers(page: Page):
    page.goto("/sign-up/")
    page.get_by_label("Full name").fill("Eli Early")
    page.get_by_label("Email address").fill("eli@example.com")
    page.get_by_label("Phone number").fill("07700 900322")
    page.get_by_label("Day").fill("30")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("1990")
    page.get_by_label(PASSWORD).fill("barefoot-and-balanced-7")
    page.get_by_label("Password again").fill("barefoot-and-balanced-7")
    page.get_by_role("button", name="Create account").click()

    # At the top, where the focus is, as a link to the field; and beside the field.
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_text("Date of birth must be a real date.")).to_have_count(2)
    summary.get_by_role("link", name="Date of birth must be a real date.").click()
    expect(page.get_by_label("Day")).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_value("Eli Early")
    expect(page.get_by_label("Day")).to_have_value("30")
    assert not Client.objects.exists()
