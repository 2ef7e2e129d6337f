"""Staff and therapist sessions end after 30 minutes idle and 12 hours in all; clients' last."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse

from tests.factories import ClientFactory, TherapistFactory, UserFactory
from tests.scheduling import NOW
from tests.two_factor import force_login_verified

pytestmark = pytest.mark.django_db

ADMIN = reverse("admin:index")
SCHEDULE = reverse("schedule:day")
ACCOUNT = reverse("clients:account")
LOGIN = reverse("clients:login")


def minutes(count: float) -> datetime.timedelta:
    return datetime.timedelta(minutes=count)


def logged_in_at(moment: datetime.datetime, user) -> HttpClient:
    with time_machine.travel(moment, tick=False):
        return force_login_verified(HttpClient(), user)


def get_at(http: HttpClient, moment: datetime.datetime, url: str):
    with time_machine.travel(moment, tick=False):
        return http.get(url)


def test_the_limits_are_the_settings_defaults():
    assert settings.SPA_STAFF_IDLE_MINUTES == 30
    assert settings.SPA_STAFF_SESSION_HOURS == 12
    assert settings.SESSION_COOKIE_AGE == 60 * 60 * 24 * 14  # clients keep two weeks


def test_staff_are_logged_out_after_30_minutes_without_a_request():
    staff = UserFactory(is_staff=True)
    http = logged_in_at(NOW, staff)

    assert get_at(http, NOW + minutes(29), ADMIN).status_code == 200
    assert get_at(http, NOW + minutes(58), ADMIN).status_code == 200  # 29 since the last
    response = get_at(http, NOW + minutes(89), ADMIN)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next=%2Fadmin%2F"
    assert "_auth_user_id" not in http.session
    with time_machine.travel(NOW + minutes(89), tick=False):
        page = http.get(response.url).content.decode()
    assert "staff sessions end after 30 minutes without activity" in page


def test_staff_are_logged_out_after_12_hours_however_busy():
    therapist = TherapistFactory()
    http = logged_in_at(NOW, therapist.user)

    for quarter in range(1, 48):  # every 15 minutes until 11:45 in
        assert get_at(http, NOW + minutes(15 * quarter), SCHEDULE).status_code == 200
    response = get_at(http, NOW + minutes(12 * 60 + 1), SCHEDULE)

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_a_staff_session_and_its_cookie_expire_soon_and_a_clients_in_two_weeks():
    staff = logged_in_at(NOW, UserFactory(is_staff=True))
    client = logged_in_at(NOW, ClientFactory().user)

    cookie = get_at(staff, NOW + minutes(5), ADMIN).cookies[settings.SESSION_COOKIE_NAME]

    # A little after the idle limit: the server ends it at 30 minutes, and says why.
    # The sessions are read back at the test's moment: on the wall clock they may be over.
    with time_machine.travel(NOW + minutes(5), tick=False):
        assert cookie["max-age"] == staff.session.get_expiry_age() == (30 + 10) * 60
        assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_clients_stay_logged_in_for_days():
    client = logged_in_at(NOW, ClientFactory().user)

    assert get_at(client, NOW + datetime.timedelta(days=3), ACCOUNT).status_code == 200
