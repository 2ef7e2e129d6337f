import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.test import Client as HttpClient

from tests.factories import PASSWORD, ClientFactory, UserFactory
from tests.scheduling import NOW


@pytest.fixture
def frozen_clock():
    """The clock stands still at NOW, Tuesday 1 December 2026, 08:00 in London.

    Not for every test: the browser tests need the real clock (Chromium expires the
    session cookie by it). A module opts in with
    `pytestmark = pytest.mark.usefixtures("frozen_clock")`, a single test with the same mark.
    """
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def client_account(db):
    """A signed-up client (the person), with a known password."""
    return ClientFactory(user__email="ana@example.com", full_name="Ana Example")


@pytest.fixture
def logged_in(client_account) -> HttpClient:
    http = HttpClient()
    http.force_login(client_account.user)
    return http


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_http(staff_user) -> HttpClient:
    http = HttpClient()
    http.force_login(staff_user)
    return http


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
    http = HttpClient()
    http.force_login(reviewer)
    return http
