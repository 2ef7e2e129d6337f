import datetime

import pytest
import time_machine
from django.urls import reverse

from clients.models import Client, User
from tests.factories import ClientFactory

URL = reverse("clients:sign_up")


def sign_up_data(**overrides) -> dict:
    data = {
        "full_name": "Bea Booker",
        "email": "Bea@Example.com",
        "phone": "07700 900456",
        "date_of_birth_0": "27",
        "date_of_birth_1": "3",
        "date_of_birth_2": "1990",
        "password1": "walking-on-sunshine-42",
        "password2": "walking-on-sunshine-42",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_sign_up_creates_account_and_profile_and_logs_in(client):
    response = client.post(URL, sign_up_data())

    assert response.status_code == 302
    assert response.url == reverse("clients:account")
    user = User.objects.get()
    assert user.email == "bea@example.com"
    assert user.check_password("walking-on-sunshine-42")
    assert user.password.startswith("argon2")
    profile = Client.objects.get(user=user)
    assert profile.full_name == "Bea Booker"
    assert profile.phone == "07700 900456"
    assert profile.date_of_birth == datetime.date(1990, 3, 27)
    page = client.get(reverse("clients:account"))
    assert "Hello, Bea." in page.content.decode()


@pytest.mark.django_db
def test_sign_up_page_asks_for_date_of_birth_as_day_month_year(client):
    html = client.get(URL).content.decode()

    assert "<legend" in html and "Date of birth" in html
    for part, autocomplete in (("0", "bday-day"), ("1", "bday-month"), ("2", "bday-year")):
        assert f'for="id_date_of_birth_{part}"' in html
        assert autocomplete in html
    assert "For example, 27 3 1990" in html


@pytest.mark.django_db
def test_sign_up_accepts_month_as_a_word(client):
    client.post(URL, sign_up_data(date_of_birth_1="March"))

    assert Client.objects.get().date_of_birth == datetime.date(1990, 3, 27)


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("31", "2", "1990", "Date of birth must be a real date."),
        ("29", "2", "2001", "Date of birth must be a real date."),
        ("0", "5", "1990", "Date of birth must be a real date."),
        ("12", "13", "1990", "Date of birth must be a real date."),
        ("1x", "5", "1990", "Date of birth must be a real date."),
        ("-1", "5", "1990", "Date of birth must be a real date."),
        ("16", "6", "2026", "Date of birth must be in the past."),
        ("1", "1", "2030", "Date of birth must be in the past."),
        ("31", "12", "1899", "Date of birth must be the same as or after 1 January 1900."),
        ("1", "1", "0990", "Date of birth must be the same as or after 1 January 1900."),
        ("1", "5", "90", "Year must include 4 numbers."),
        ("", "5", "1990", "Date of birth must include a day."),
        ("1", "", "", "Date of birth must include a month and a year."),
        ("", "", "", "Enter your date of birth."),
    ],
)
def test_sign_up_refuses_bad_date_of_birth_with_a_clear_message(client, day, month, year, message):
    response = client.post(
        URL, sign_up_data(date_of_birth_0=day, date_of_birth_1=month, date_of_birth_2=year)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False)
def test_sign_up_accepts_today_and_1_january_1900(client):
    client.post(
        URL, sign_up_data(date_of_birth_0="15", date_of_birth_1="6", date_of_birth_2="2026")
    )
    client.post(reverse("clients:logout"))
    client.post(
        URL,
        sign_up_data(
            email="old@example.com",
            date_of_birth_0="1",
            date_of_birth_1="1",
            date_of_birth_2="1900",
        ),
    )

    dates = sorted(Client.objects.values_list("date_of_birth", flat=True))
    assert dates == [datetime.date(1900, 1, 1), datetime.date(2026, 6, 15)]


@pytest.mark.django_db
def test_sign_up_keeps_what_was_typed_when_something_is_wrong(client):
    response = client.post(URL, sign_up_data(date_of_birth_0="31", date_of_birth_1="2"))

    html = response.content.decode()
    assert 'value="Bea Booker"' in html
    assert 'value="Bea@Example.com"' in html or 'value="bea@example.com"' in html
    assert 'value="07700 900456"' in html
    assert 'value="31"' in html and 'value="1990"' in html


@pytest.mark.django_db
def test_sign_up_refuses_an_email_already_used_in_another_case(client):
    ClientFactory(user__email="bea@example.com")

    response = client.post(URL, sign_up_data(email="BEA@EXAMPLE.COM"))

    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short."),
        ("password1234", "This password is too common."),
        ("8394027165", "This password is entirely numeric."),
        ("bea@example.com", "The password is too similar to the email address."),
    ],
)
def test_sign_up_refuses_a_weak_password(client, password, message):
    response = client.post(URL, sign_up_data(password1=password, password2=password))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_sign_up_refuses_passwords_that_do_not_match(client):
    response = client.post(URL, sign_up_data(password2="something-else-entirely"))

    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "   ", "This field is required."),
        ("phone", "call me", "Enter a phone number like"),
        ("email", "not-an-email", "Enter a valid email address."),
    ],
)
def test_sign_up_refuses_bad_details(client, field, value, message):
    response = client.post(URL, sign_up_data(**{field: value}))

    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_sign_up_without_csrf_token_is_refused_kindly():
    from django.test import Client as HttpClient

    response = HttpClient(enforce_csrf_checks=True).post(URL, sign_up_data())

    assert response.status_code == 403
    assert "Please try that again" in response.content.decode()
    assert not User.objects.exists()
