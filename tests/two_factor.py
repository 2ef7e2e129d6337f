"""Staff and therapists sign in with a second factor: helpers that give them one.

`force_login_verified(http, user)` is `force_login` that also gives staff and therapists
their second factor, as after a real sign-in (clients get a plain login). In a browser
test, `authenticator_app(user)` before the password and `type_code(page, user)` after it.
"""

import re
import time

from django.test import Client as HttpClient
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from clients import staff_sessions
from clients.models import User
from clients.two_factor import needs_second_factor

# Crispy marks a required field with a hidden asterisk inside the label.
CODE_LABEL = re.compile(r"^\s*Code\W*$")


def authenticator_app(user: User) -> TOTPDevice:
    """The user's confirmed authenticator app, set up now if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return device


def force_login_verified(http: HttpClient, user: User) -> HttpClient:
    """Logged in now, as if through the login and code pages: a staff session's clock
    (30 minutes idle, 12 hours in all) starts now, so a test that travels in time
    further than that logs in again there, as the person would."""
    http.force_login(user)
    if needs_second_factor(user):
        session = http.session
        # What django_otp.login() writes when the code is accepted...
        session[DEVICE_ID_SESSION_KEY] = authenticator_app(user).persistent_id
        # ...and what the staff session middleware wrote on the way.
        now = timezone.now().timestamp()
        session[staff_sessions.STARTED] = now
        staff_sessions.seen(session, now)
        session.save()
    return http


def code_at(key: bytes, *, step: int | None = None) -> str:
    """What an authenticator app shows for this secret now (or at time step `step`)."""
    if step is None:
        step = int(time.time()) // 30
    return f"{hotp(key, step, digits=6):06d}"


def current_code(device: TOTPDevice) -> str:
    """The app's code now; or, if that one was used already (two sign-ins within 30
    seconds), the next one, which the device accepts as well (it allows a clock a step
    ahead)."""
    device.refresh_from_db()
    now = (int(time.time()) - device.t0) // device.step + device.drift
    return code_at(device.bin_key, step=max(now, device.last_t + 1))


def type_code(page: Page, user: User) -> None:
    """The second step of signing in, in the browser: the code the user's app shows."""
    page.get_by_label(CODE_LABEL).fill(current_code(authenticator_app(user)))
    page.get_by_role("button", name="Continue").click()


def app_ready(email: str) -> User:
    """The user with that email; staff and therapists have their authenticator app set up,
    as before a real sign-in (call it before the password, then `code_if_asked`)."""
    user = User.objects.get(email=email)
    if needs_second_factor(user):
        authenticator_app(user)
    return user


def code_if_asked(page: Page, user: User) -> None:
    """After the password in the browser: staff and therapists type their app's code."""
    if needs_second_factor(user):
        type_code(page, user)
