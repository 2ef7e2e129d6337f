import datetime

import pytest
from django.urls import reverse

from clients.models import Client
from tests.factories import UserFactory
from tests.two_factor import force_login_verified

EDIT = reverse("clients:edit_contact_details")


@pytest.mark.django_db
def test_my_account_shows_details_and_date_of_birth_read_only(logged_in):
    html = logged_in.get(reverse("clients:account")).content.decode()

    assert "Ana Example" in html
    assert "ana@example.com" in html
    assert "27 March 1990" in html
    assert "To correct it, contact the spa" in html


@pytest.mark.django_db
def test_client_changes_name_and_phone(logged_in, client_account):
    response = logged_in.post(EDIT, {"full_name": "Ana  Newname ", "phone": "+44 7700 900999"})

    assert response.status_code == 302
    client_account.refresh_from_db()
    assert client_account.full_name == "Ana Newname"
    assert client_account.phone == "+44 7700 900999"


@pytest.mark.django_db
def test_edit_page_shows_date_of_birth_without_an_input(logged_in):
    html = logged_in.get(EDIT).content.decode()

    assert "27 March 1990" in html
    assert "You cannot change this online" in html
    assert 'name="date_of_birth' not in html


@pytest.mark.django_db
def test_tampered_post_cannot_change_the_date_of_birth(logged_in, client_account):
    logged_in.post(
        EDIT,
        {
            "full_name": "Ana Example",
            "phone": "07700 900123",
            "date_of_birth": "2015-01-01",
            "date_of_birth_0": "1",
            "date_of_birth_1": "1",
            "date_of_birth_2": "2015",
        },
    )

    client_account.refresh_from_db()
    assert client_account.date_of_birth == datetime.date(1990, 3, 27)


@pytest.mark.django_db
def test_bad_phone_is_refused_and_nothing_changes(logged_in, client_account):
    response = logged_in.post(EDIT, {"full_name": "Someone Else", "phone": "nope"})

    assert response.status_code == 200
    assert "Enter a phone number like" in response.content.decode()
    assert Client.objects.get(pk=client_account.pk).full_name == "Ana Example"


@pytest.mark.django_db
def test_staff_account_without_a_client_profile_has_an_account_page(client):
    staff = UserFactory(email="boss@example.com", is_staff=True)
    force_login_verified(client, staff)

    assert "boss@example.com" in client.get(reverse("clients:account")).content.decode()
    response = client.get(EDIT)
    assert response.status_code == 302
