import pytest
from django.template.loader import render_to_string
from django.test import Client as HttpClient
from django.urls import reverse

from tests.factories import TherapistFactory, TreatmentFactory, UserFactory
from tests.scheduling import open_spa
from tests.two_factor import force_login_verified


@pytest.mark.django_db
def test_home_page_says_what_the_spa_offers(client):
    # Offered online: someone qualified gives them in a room with what they need.
    open_spa(name="Ashiatsu back-walking, 60 minutes", back_walking=True)
    open_spa(name="Swedish massage, 60 minutes")
    TreatmentFactory(name="Retired treatment", is_active=False)

    html = client.get("/").content.decode()

    assert "Back-walking massage (Ashiatsu)" in html
    assert "What to expect" in html
    assert "adults (18 and over) in good health" in html
    assert "health screening" in html
    assert "Ashiatsu back-walking, 60 minutes" in html
    assert "Swedish massage, 60 minutes" in html
    assert "Retired treatment" not in html


@pytest.mark.django_db
def test_page_has_landmarks_and_skip_link(client):
    html = client.get("/").content.decode()

    assert '<main id="main"' in html
    assert "<header>" in html and "<footer" in html
    assert 'href="#main"' in html
    assert '<html lang="en">' in html


@pytest.mark.django_db
def test_navigation_fits_who_is_logged_in(client, logged_in):
    guest = client.get("/").content.decode()
    assert "Log in" in guest and "Sign up" in guest and "My account" not in guest

    member = logged_in.get("/").content.decode()
    assert "My account" in member and "Log out" in member and "Spa admin" not in member

    staff = HttpClient()
    force_login_verified(staff, UserFactory(is_staff=True))
    assert "Spa admin" in staff.get("/").content.decode()

    therapist = HttpClient()
    force_login_verified(therapist, TherapistFactory().user)
    html = therapist.get("/").content.decode()
    assert "My account" in html and "Spa admin" not in html


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We cannot find that page" in response.content.decode()


def test_error_pages_render_without_a_request():
    assert "Sorry, something went wrong" in render_to_string("500.html")
    assert "You cannot open this page" in render_to_string("403.html")
    assert "We could not understand that request" in render_to_string("400.html")


@pytest.mark.django_db
def test_static_bootstrap_is_served_from_our_own_files(client):
    html = client.get(reverse("home")).content.decode()

    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert "cdn" not in html.lower()
