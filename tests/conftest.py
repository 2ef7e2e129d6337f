import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.test import Client as HttpClient
from django.utils import timezone

from appointments.models import Therapist
from clients.models import Client
from tests.factories import PASSWORD, ClientFactory, TherapistFactory, UserFactory
from tests.scheduling import NOW, work
from tests.screenings import screen
from tests.two_factor import force_login_verified


@pytest.fixture
def frozen_clock():
    """The clock stands still at NOW, Tuesday 1 December 2026, 08:00 in London.

    Not for every test: the browser tests need the real clock (Chromium expires the
    session cookie by it). A module opts in with
    `pytestmark = pytest.mark.usefixtures("frozen_clock")`, a single test with the same mark.
    """
    with time_machine.travel(NOW, tick=False):
        yield


# The demo's people (see seed_demo), each with the password PASSWORD.


@pytest.fixture
def ana(db) -> Client:
    """An adult client. No screening yet: each test gives her the one it is about."""
    return ClientFactory(
        user__email="ana@example.com",
        full_name="Ana Example",
        date_of_birth=datetime.date(1990, 3, 27),
    )


@pytest.fixture
def client_account(ana) -> Client:
    """The signed-up client the account tests act as: Ana."""
    return ana


@pytest.fixture
def logged_in(ana) -> HttpClient:
    """Ana's browser, logged in."""
    http = HttpClient()
    http.force_login(ana.user)
    return http


@pytest.fixture
def theo(db) -> Client:
    """A client who is 17 today and turns 18 in nine days (Thursday 10 December 2026 on the
    frozen clock): close enough for the calendar to reach the days after his birthday,
    which he still cannot book, being 17 on the day he books."""
    eighteenth = timezone.localdate() + datetime.timedelta(days=9)
    if (eighteenth.month, eighteenth.day) == (2, 29):
        eighteenth += datetime.timedelta(days=1)  # no 29 February eighteen years earlier
    return ClientFactory(
        user__email="theo@example.com",
        full_name="Theo Teen",
        date_of_birth=eighteenth.replace(year=eighteenth.year - 18),
    )


@pytest.fixture
def dara(db) -> Client:
    """An adult client whose screening waits for a staff review: a physiotherapist is
    treating her back pain."""
    dara = ClientFactory(user__email="dara@example.com", full_name="Dara Byrne")
    screen(dara, back_pain_under_care=True)
    return dara


@pytest.fixture
def maya(db) -> Therapist:
    """A therapist working 09:00-17:00 every day. She gives no treatment until a test
    qualifies her for one."""
    maya = TherapistFactory(user__email="maya@example.com", display_name="Maya")
    work(maya)
    return maya


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_http(staff_user) -> HttpClient:
    """The superuser, logged in with their second factor (tests.two_factor)."""
    return force_login_verified(HttpClient(), staff_user)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def reviewer(db):
    """Staff in the "Screening reviewers" group, who decide screenings in the admin."""
    user = UserFactory(email="reviewer@example.com", is_staff=True)
    user.groups.add(reviewers_group())
    return user


def reviewers_group() -> Group:
    """The group a migration makes; made again after a transactional test emptied the tables."""
    group, created = Group.objects.get_or_create(name="Screening reviewers")
    if created:
        group.permissions.add(
            Permission.objects.get(
                content_type__app_label="screening", codename="review_healthscreening"
            )
        )
    return group


@pytest.fixture
def reviewer_http(reviewer) -> HttpClient:
    return force_login_verified(HttpClient(), reviewer)


@pytest.fixture
def unlimited_staff_sessions(settings):
    """Staff sessions without their limits (30 minutes idle, 12 hours in all), for tests
    whose one login travels through days; tests/clients/test_staff_sessions.py tests them."""
    settings.SPA_STAFF_IDLE_MINUTES = 60 * 24 * 365
    settings.SPA_STAFF_SESSION_HOURS = 24 * 365
