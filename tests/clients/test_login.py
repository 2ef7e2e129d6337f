import datetime

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from clients.backends import ClientAwareBackend
from clients.models import Client
from tests.clients.emails import reset_password

LOGIN = reverse("clients:login")


def log_in(http: HttpClient, email: str, password: str, ip: str = "203.0.113.5"):
    return http.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_logs_in_with_email_in_any_case_and_lands_on_my_account(client, client_account, password):
    response = log_in(client, "ANA@example.COM", password)

    assert response.status_code == 302
    assert response.url == reverse("clients:account")
    assert "My account" in client.get(response.url).content.decode()


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_clear_message(client, client_account):
    response = log_in(client, "ana@example.com", "not-the-password")

    assert response.status_code == 200
    assert "That email address and password do not match an account." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_log_out_needs_a_post(logged_in):
    assert logged_in.get(reverse("clients:logout")).status_code == 405
    assert "_auth_user_id" in logged_in.session

    response = logged_in.post(reverse("clients:logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in logged_in.session


@pytest.mark.django_db
def test_my_account_needs_login(client):
    response = client.get(reverse("clients:account"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


@pytest.mark.django_db
def test_locks_out_username_and_ip_after_repeated_failures(client_account, password, settings):
    attacker = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(attacker, "ana@example.com", "guess-guess-guess")

    # Even the right password is refused from this address now.
    response = log_in(attacker, "ana@example.com", password)

    assert response.status_code == 429
    assert "Too many attempts to log in" in response.content.decode()
    assert "_auth_user_id" not in attacker.session


@pytest.mark.django_db
def test_lock_out_does_not_reach_the_client_on_another_ip(client_account, password, settings):
    attacker = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(attacker, "Ana@Example.com", "guess-guess-guess", ip="198.51.100.7")

    response = log_in(HttpClient(), "ana@example.com", password, ip="203.0.113.99")

    assert response.status_code == 302
    assert response.url == reverse("clients:account")


@pytest.mark.django_db
def test_failures_below_the_limit_do_not_lock_out(client_account, password, settings):
    http = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(http, "ana@example.com", "guess-guess-guess")

    assert log_in(http, "ana@example.com", password).status_code == 302


@pytest.mark.django_db
def test_each_request_finds_the_user_and_their_client_profile_in_one_query(
    client_account, django_assert_num_queries
):
    backend = ClientAwareBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(client_account.user.pk)
        assert Client.objects.of(user) == client_account


@pytest.mark.django_db
def test_staff_have_no_client_profile_and_it_costs_no_query(staff_user, django_assert_num_queries):
    user = ClientAwareBackend().get_user(staff_user.pk)
    with django_assert_num_queries(0):
        assert Client.objects.of(user) is None


@pytest.mark.django_db
def test_an_inactive_user_is_not_logged_in(client_account):
    client_account.user.is_active = False
    client_account.user.save()
    assert ClientAwareBackend().get_user(client_account.user.pk) is None


# Behind the documented reverse proxy: every request comes from the proxy's address,
# and the proxy appends the visitor's address to X-Forwarded-For.

PROXY = "10.0.0.2"


def log_in_through_proxy(http: HttpClient, email: str, password: str, visitor: str, **headers):
    forwarded = headers.pop("forwarded_for", visitor)
    return http.post(
        LOGIN,
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_behind_the_proxy_one_visitors_wrong_passwords_do_not_lock_out_another(
    client_account, password, settings
):
    attacker = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in_through_proxy(attacker, "ana@example.com", "guess-guess-guess", "198.51.100.7")

    locked = log_in_through_proxy(attacker, "ana@example.com", password, "198.51.100.7")
    ana = log_in_through_proxy(HttpClient(), "ana@example.com", password, "203.0.113.99")

    assert locked.status_code == 429
    assert ana.status_code == 302
    assert ana.url == reverse("clients:account")


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_behind_the_proxy_a_visitor_cannot_dodge_the_limit_with_a_made_up_forwarded_for(
    client_account, password, settings
):
    attacker = HttpClient()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The proxy appends the real address after whatever the visitor sent.
        forged = f"192.0.2.{attempt}, 198.51.100.7"
        log_in_through_proxy(
            attacker, "ana@example.com", "guess-guess-guess", "", forwarded_for=forged
        )

    response = log_in_through_proxy(attacker, "ana@example.com", password, "198.51.100.7")

    assert response.status_code == 429


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_locked_out(client_account, password, settings):
    settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    sprayer = HttpClient()
    for number in range(settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT):
        # One guess per account: far below the limit of one account from one address.
        log_in(sprayer, f"client{number}@example.com", "Summer2026!", ip="198.51.100.7")

    # Even an account's right password is refused from this address now...
    refused = log_in(sprayer, "ana@example.com", password, ip="198.51.100.7")
    # ...but not from anywhere else.
    elsewhere = log_in(HttpClient(), "ana@example.com", password, ip="203.0.113.99")

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_failures_on_other_accounts_below_the_address_limit_do_not_lock_out(
    client_account, password, settings
):
    settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    office = HttpClient()
    for number in range(settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        log_in(office, f"colleague{number}@example.com", "typo-typo-typo", ip="198.51.100.7")

    assert log_in(office, "ana@example.com", password, ip="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_logging_in_to_ones_own_account_does_not_clear_failures_on_others(
    client_account, password, settings
):
    settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    sprayer = HttpClient()
    for number in range(settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        log_in(sprayer, f"client{number}@example.com", "Summer2026!", ip="198.51.100.7")
    assert log_in(sprayer, "ana@example.com", password, ip="198.51.100.7").status_code == 302
    sprayer.post(reverse("clients:logout"))

    log_in(sprayer, "another@example.com", "Summer2026!", ip="198.51.100.7")

    assert log_in(sprayer, "ana@example.com", password, ip="198.51.100.7").status_code == 429


@pytest.mark.django_db
def test_a_lock_out_ends_after_the_cool_off_however_often_someone_tries_meanwhile(
    client_account, password, settings
):
    start = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
    attacker = HttpClient()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(attacker, "ana@example.com", "guess-guess-guess")
        clock.shift(settings.AXES_COOLOFF_TIME - datetime.timedelta(minutes=1))
        assert log_in(attacker, "ana@example.com", "guess-again-again").status_code == 429

        clock.move_to(start + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1))
        response = log_in(attacker, "ana@example.com", password)

    assert response.status_code == 302


@pytest.mark.django_db
def test_the_lock_out_page_says_how_long_to_wait_in_words(client_account, settings):
    attacker = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(attacker, "ana@example.com", "guess-guess-guess")

    response = log_in(attacker, "ana@example.com", "guess-guess-guess")

    text = " ".join(response.content.decode().replace("\xa0", " ").split())
    assert response.status_code == 429
    assert "Please wait 15 minutes and try again" in text
    assert "0:15:00" not in text


@pytest.mark.django_db
def test_a_password_reset_ends_the_lock_out(client_account, password, settings):
    attacker = HttpClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(attacker, "ana@example.com", "guess-guess-guess")
    assert log_in(attacker, "ana@example.com", password).status_code == 429

    ana = HttpClient()
    reset_password(ana, "ana@example.com", "a-brand-new-passphrase")

    # From the same address, which was locked out, straight away.
    assert log_in(ana, "ana@example.com", "a-brand-new-passphrase").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LOGIN, reverse("admin:login")])
def test_a_very_long_email_address_is_a_wrong_login_not_an_error(client_account, url):
    # Valid as an email address (local part at most 64, labels at most 63 characters),
    # and longer than any column it could be stored in.
    long_address = f"{'a' * 64}@{'.'.join(['b' * 63] * 3)}.example"
    assert len(long_address) > 255

    response = HttpClient().post(
        url, {"username": long_address, "password": "guess-guess-guess"}, REMOTE_ADDR="203.0.113.5"
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in HttpClient().session
