import datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from clients.models import Client, User
from tests.clients.emails import emails_to, link_in
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices

URL = reverse("clients:sign_up")
SENT = reverse("clients:sign_up_sent")


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
def test_sign_up_creates_the_account_and_the_emailed_link_finishes_it(client):
    response = client.post(URL, sign_up_data())

    assert response.status_code == 302
    assert response.url == SENT
    assert "Check your email" in client.get(SENT).content.decode()
    user = User.objects.get()
    assert user.email == "bea@example.com"
    assert not user.is_active  # until the person shows the address is theirs
    assert "_auth_user_id" not in client.session
    assert user.check_password("walking-on-sunshine-42")
    assert user.password.startswith("argon2")
    profile = Client.objects.get(user=user)
    assert profile.full_name == "Bea Booker"
    assert profile.phone == "07700 900456"
    assert profile.date_of_birth == datetime.date(1990, 3, 27)

    [message] = emails_to("bea@example.com")
    assert message.subject.startswith("Finish creating your")
    link = link_in(message)
    page = client.get(link)
    assert "Finish creating your account" in page.content.decode()
    assert not User.objects.get().is_active  # opening the link is not enough: mail scanners do
    finished = client.post(link)

    assert finished.status_code == 302
    assert finished.url == reverse("clients:account")
    assert User.objects.get().is_active
    page = client.get(reverse("clients:account"))
    assert "Welcome, Bea." in page.content.decode()
    assert "Hello, Bea." in page.content.decode()


@pytest.mark.django_db
def test_the_sign_up_link_works_once(client):
    client.post(URL, sign_up_data())
    link = link_in(emails_to("bea@example.com")[0])
    client.post(link)

    again = HttpClient().post(link)

    assert "This link no longer works" in again.content.decode()
    assert "_auth_user_id" not in again.wsgi_request.session


@pytest.mark.django_db
def test_an_account_not_finished_cannot_log_in(client):
    client.post(URL, sign_up_data())

    response = HttpClient().post(
        reverse("clients:login"),
        {"username": "bea@example.com", "password": "walking-on-sunshine-42"},
    )

    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


@pytest.mark.django_db
def test_a_made_up_link_does_not_work(client):
    client.post(URL, sign_up_data())
    user = User.objects.get()

    for uid, token in [("MQ", "abc-def"), ("not-base64!", "abc-def"), ("OTk5OTk", "x-y")]:
        response = client.post(reverse("clients:confirm_sign_up", args=[uid, token]))
        assert "This link no longer works" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active


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
def test_sign_up_with_an_address_that_has_an_account_answers_the_same_and_emails_the_owner(
    client, password
):
    owner = ClientFactory(user__email="bea@example.com", full_name="Bea Owner")

    taken = HttpClient().post(URL, sign_up_data(email="BEA@EXAMPLE.COM"))
    new = HttpClient().post(URL, sign_up_data(email="new@example.com"))

    assert (taken.status_code, taken.url) == (new.status_code, new.url) == (302, SENT)
    assert User.objects.filter(email="bea@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.full_name == "Bea Owner"
    assert owner.user.check_password(password)  # nothing of the account changed
    [message] = emails_to("bea@example.com")
    assert "already have" in message.subject
    assert "Someone tried to create" in message.body
    assert "/log-in/" in message.body and "/password-reset/" in message.body


@pytest.mark.django_db
def test_signing_up_again_before_finishing_sends_a_new_link(client):
    client.post(URL, sign_up_data())
    client.post(URL, sign_up_data(full_name="Someone Else"))

    first, second = emails_to("bea@example.com")

    assert first.subject == second.subject
    assert Client.objects.get().full_name == "Bea Booker"
    HttpClient().post(link_in(second))
    assert User.objects.get().is_active


@pytest.mark.django_db
def test_an_address_gets_at_most_three_sign_up_emails_an_hour(settings):
    ClientFactory(user__email="bea@example.com")
    for number in range(settings.SPA_ACCOUNT_EMAILS_PER_HOUR + 2):
        HttpClient().post(URL, sign_up_data(), REMOTE_ADDR=f"198.51.100.{number}")

    assert len(emails_to("bea@example.com")) == settings.SPA_ACCOUNT_EMAILS_PER_HOUR


@pytest.mark.django_db
def test_one_visitor_gets_at_most_ten_account_emails_an_hour(settings):
    for number in range(settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR + 2):
        response = HttpClient().post(
            URL, sign_up_data(email=f"new{number}@example.com"), REMOTE_ADDR="198.51.100.7"
        )
        assert response.url == SENT

    deliver_owed_notices()
    assert len(mail.outbox) == settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR
    # Past the limit no account is made either: it could never be finished.
    assert User.objects.count() == settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR


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
    response = HttpClient(enforce_csrf_checks=True).post(URL, sign_up_data())

    assert response.status_code == 403
    assert "Please try that again" in response.content.decode()
    assert not User.objects.exists()
