"""Pages that show health data, or a sign-in secret, are never kept by a browser or proxy."""

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.services import book_appointment
from tests.scheduling import TOMORROW, at, open_spa
from tests.screenings import review_url, screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def assert_not_cached(response) -> None:
    assert response.status_code == 200, response
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


def test_the_therapists_day_week_appointment_and_calendar_pages(ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana, areas_to_avoid="Left knee")
    appointment = book_appointment(
        client=ana,
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=spa.therapist,
        health_unchanged=True,
    )
    http = force_login_verified(HttpClient(), spa.therapist.user)
    day = {"date": TOMORROW.isoformat()}

    assert "Left knee" in http.get(reverse("schedule:day"), day).content.decode()
    for response in (
        http.get(reverse("schedule:day"), day),
        http.get(reverse("schedule:week"), day),
        http.get(reverse("schedule:appointment", args=[appointment.pk])),
        http.get(reverse("schedule:calendar")),  # the feed's secret address
    ):
        assert_not_cached(response)


def test_the_clients_screening_pages(ana, logged_in):
    screen(ana)

    assert_not_cached(logged_in.get(reverse("screening:mine")))
    assert_not_cached(logged_in.get(reverse("screening:new")))


def test_the_screening_admin(ana, reviewer_http):
    screening = screen(ana, back_pain_under_care=True)

    assert_not_cached(reviewer_http.get(reverse("admin:screening_screeningtoreview_changelist")))
    assert_not_cached(reviewer_http.get(review_url(screening)))
