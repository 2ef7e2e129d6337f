import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from clients.backends import ClientAwareBackend
from clients.models import Client

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
