"""A new member of staff signs in with a second factor, in real Chromium.

They set up an authenticator app (the test reads the setup key off the page, as a
person types it into the app), keep their backup codes, reach the admin; next time the
password and the app's code let them in; a backup code does once, never twice.
"""

import base64
import re
import time

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, UserFactory
from tests.two_factor import CODE_LABEL, code_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^\s*Password\W*$")
EMAIL = "nadia@example.com"


def app_code(key: bytes) -> str:
    """What the app shows now; a code is good once, so after a sign-in within the same 30
    seconds the app's next one (the spa allows a clock one step ahead)."""
    last = TOTPDevice.objects.get(user__email=EMAIL).last_t
    return code_at(key, step=max(int(time.time()) // 30, last + 1))


def sign_in_on_the_site(page: Page) -> None:
    page.goto("/log-in/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your sign-in code")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def test_a_new_staff_member_sets_up_the_app_and_signs_in_with_it_and_a_backup_code(page: Page):
    UserFactory(email=EMAIL, is_staff=True, is_superuser=True)

    # First sign-in, on the admin's own login page.
    page.goto("/admin/")
    page.get_by_label(re.compile(r"^Email")).fill(EMAIL)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    key = base64.b32decode(page.get_by_label("Setup key").inner_text().replace(" ", ""))

    page.get_by_label("Code from the app").fill(code_at(key))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    codes = page.get_by_role("list", name="Backup codes").get_by_role("listitem").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_role("heading", name="Run the spa")).to_be_visible()
    page.go_back()  # the codes are not shown twice
    expect(page.get_by_role("heading", name="Your backup codes")).to_have_count(0)
    page.goto("/admin/")
    log_out(page)

    # Next time: the password, then the app's code.
    sign_in_on_the_site(page)
    page.get_by_label(CODE_LABEL).fill(app_code(key))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.get_by_role("link", name="Spa admin", exact=True).click()
    expect(page.get_by_role("heading", name="Run the spa")).to_be_visible()
    log_out(page)

    # No phone: a backup code, once.
    sign_in_on_the_site(page)
    page.get_by_label(CODE_LABEL).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_text("You used a backup code; it will not work again. 9 left.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    log_out(page)

    sign_in_on_the_site(page)
    page.get_by_label(CODE_LABEL).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not right.").first).to_be_visible()
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Your sign-in code")).to_be_visible()
