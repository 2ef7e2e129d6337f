"""Staff and therapists sign in with a password and a second factor; clients with a password."""

import base64
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, ClientFactory, TherapistFactory, UserFactory
from tests.two_factor import authenticator_app, code_at, current_code, force_login_verified

pytestmark = pytest.mark.django_db

LOGIN = reverse("clients:login")
VERIFY = reverse("two_factor:verify")
SET_UP = reverse("two_factor:set_up")
BACKUP_CODES = reverse("two_factor:backup_codes")
NEW_BACKUP_CODES = reverse("two_factor:new_backup_codes")
ADMIN = reverse("admin:index")
SCHEDULE = reverse("schedule:day")
ACCOUNT = reverse("clients:account")


def log_in(http: HttpClient, email: str, **extra):
    return http.post(
        LOGIN, {"username": email, "password": PASSWORD, **extra}, REMOTE_ADDR="203.0.113.5"
    )


def html(response) -> str:
    return response.content.decode()


def key_on_page(page: str) -> bytes:
    """The setup key as the page shows it for typing in, decoded like an app does."""
    shown = re.search(r'<code class="secret-key[^"]*"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    return base64.b32decode(shown.replace(" ", ""))


def backup_codes_on_page(page: str) -> list[str]:
    listing = re.search(r'<ul class="backup-codes.*?</ul>', page, re.S).group(0)
    return re.findall(r"<li>([a-z2-7]+)</li>", listing)


@pytest.fixture
def staff():
    return UserFactory(email="desk@example.com", is_staff=True)


@pytest.fixture
def enrolled_staff(staff):
    authenticator_app(staff)
    return staff


# The password is only the first step


def test_a_new_staff_member_sets_up_the_app_then_sees_backup_codes_once_then_the_admin(
    client, staff
):
    response = log_in(client, staff.email, next=ADMIN)
    assert response.url == f"{VERIFY}?next=%2Fadmin%2F"
    response = client.get(response.url)
    assert response.url == f"{SET_UP}?next=%2Fadmin%2F"
    assert client.get(ADMIN).status_code == 302  # not yet

    page = html(client.get(response.url))
    assert 'src="data:image/svg+xml' in page  # the QR code, no script needed
    key = key_on_page(page)
    assert key_on_page(html(client.get(SET_UP))) == key  # the same secret until confirmed

    response = client.post(SET_UP, {"code": code_at(key), "next": ADMIN})
    assert response.url == f"{BACKUP_CODES}?next=%2Fadmin%2F"
    codes = backup_codes_on_page(html(client.get(response.url)))
    assert len(codes) == 10
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=staff).values_list("token", flat=True)
    )
    assert client.get(response.url).url == ADMIN  # shown once
    assert client.get(ADMIN).status_code == 200
    assert TOTPDevice.objects.get(user=staff).confirmed


def test_a_wrong_code_does_not_finish_the_set_up(client, staff):
    log_in(client, staff.email)
    key = key_on_page(html(client.get(SET_UP)))
    wrong = f"{(int(code_at(key)) + 1) % 1_000_000:06d}"

    response = client.post(SET_UP, {"code": wrong})

    assert "That code is not right" in html(response)
    assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()
    assert not StaticToken.objects.exists()
    assert client.get(ADMIN).status_code == 302


def test_an_enrolled_staff_member_gives_the_apps_code_and_reaches_the_page_asked_for(
    client, enrolled_staff
):
    response = log_in(client, enrolled_staff.email, next=ADMIN)
    page = html(client.get(response.url))
    assert "Your sign-in code" in page
    assert '<input type="hidden" name="next" value="/admin/">' in page

    response = client.post(
        VERIFY, {"code": current_code(authenticator_app(enrolled_staff)), "next": ADMIN}
    )

    assert response.url == ADMIN  # the next from the login form travelled along
    assert client.get(ADMIN).status_code == 200


def test_a_wrong_code_is_refused_and_leaves_the_session_unverified(client, enrolled_staff):
    log_in(client, enrolled_staff.email)
    code = current_code(authenticator_app(enrolled_staff))

    response = client.post(VERIFY, {"code": f"{(int(code) + 1) % 1_000_000:06d}"})

    assert "That code is not right" in html(response)
    assert client.get(ADMIN).url.startswith(VERIFY)


def test_a_code_works_once(enrolled_staff):
    device = authenticator_app(enrolled_staff)
    code = current_code(device)
    first, second = HttpClient(), HttpClient()
    log_in(first, enrolled_staff.email)
    log_in(second, enrolled_staff.email)

    assert first.post(VERIFY, {"code": code}).status_code == 302
    assert "That code is not right" in html(second.post(VERIFY, {"code": code}))


def test_after_several_wrong_codes_even_the_right_one_waits(client, enrolled_staff):
    log_in(client, enrolled_staff.email)
    right = current_code(authenticator_app(enrolled_staff))
    for wrong in ("000000", "111111", "222222"):
        if wrong != right:
            client.post(VERIFY, {"code": wrong})

    response = client.post(VERIFY, {"code": right})

    assert "Too many wrong codes in a row" in html(response)
    assert client.get(ADMIN).url.startswith(VERIFY)


def test_a_backup_code_works_once_and_says_how_many_are_left(client, staff):
    log_in(client, staff.email)
    key = key_on_page(html(client.get(SET_UP)))
    client.post(SET_UP, {"code": code_at(key)})
    codes = backup_codes_on_page(html(client.get(BACKUP_CODES)))
    client.post(reverse("clients:logout"))

    log_in(client, staff.email)
    # Typed as people type them: in capitals, with a space.
    typed = f"{codes[0][:4].upper()} {codes[0][4:]}"
    response = client.post(VERIFY, {"code": typed}, follow=True)
    assert "You used a backup code; it will not work again. 9 left." in html(response)
    assert client.get(ADMIN).status_code == 200
    client.post(reverse("clients:logout"))

    log_in(client, staff.email)
    assert "That code is not right" in html(client.post(VERIFY, {"code": codes[0]}))


def test_the_admin_login_page_leads_to_the_second_step_too(client, enrolled_staff):
    response = client.post(
        reverse("admin:login"),
        {"username": enrolled_staff.email, "password": PASSWORD, "next": ADMIN},
        REMOTE_ADDR="203.0.113.5",
    )
    assert response.url == ADMIN

    assert client.get(ADMIN).url == f"{VERIFY}?next=%2Fadmin%2F"
    client.post(VERIFY, {"code": current_code(authenticator_app(enrolled_staff))})
    assert client.get(ADMIN).status_code == 200


def test_a_therapist_gives_a_code_before_their_schedule(client):
    therapist = TherapistFactory(user__email="maya@example.com")
    authenticator_app(therapist.user)

    response = log_in(client, "maya@example.com")

    assert response.url == f"{VERIFY}?next=%2Fschedule%2F"
    assert client.get(SCHEDULE).url == f"{VERIFY}?next=%2Fschedule%2F"
    client.post(response.url, {"code": current_code(authenticator_app(therapist.user))})
    assert client.get(SCHEDULE).status_code == 200


def test_clients_log_in_with_their_password_alone(client):
    ClientFactory(user__email="ana@example.com")

    response = log_in(client, "ana@example.com")

    assert response.url == ACCOUNT
    assert client.get(ACCOUNT).status_code == 200
    assert client.get(VERIFY).url == ACCOUNT  # nothing to give
    assert not TOTPDevice.objects.exists()


def test_after_the_code_it_never_goes_to_another_site(client, enrolled_staff):
    log_in(client, enrolled_staff.email)

    response = client.post(
        VERIFY,
        {
            "code": current_code(authenticator_app(enrolled_staff)),
            "next": "https://evil.example/",
        },
    )

    assert response.url == ACCOUNT


# Until the second factor, a staff session opens nothing


@pytest.mark.parametrize("url", [ADMIN, SCHEDULE, ACCOUNT, reverse("home"), NEW_BACKUP_CODES])
def test_a_staff_session_without_the_second_factor_opens_no_page(client, url):
    therapist = TherapistFactory(user__is_staff=True)
    client.force_login(therapist.user)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next={url.replace('/', '%2F')}"


def test_logging_out_works_before_the_second_factor(client, staff):
    client.force_login(staff)

    client.post(reverse("clients:logout"))

    assert "_auth_user_id" not in client.session


def test_the_admin_refuses_an_unverified_session_by_itself_too(client, staff, settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "clients.staff_sessions.StaffSessionMiddleware"
    ]
    client.force_login(staff)

    assert client.get(ADMIN).url.startswith(reverse("admin:login"))
    force_login_verified(client, staff)
    assert client.get(ADMIN).status_code == 200


def test_the_therapist_pages_refuse_an_unverified_session_by_themselves_too(client, settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "clients.staff_sessions.StaffSessionMiddleware"
    ]
    therapist = TherapistFactory()
    client.force_login(therapist.user)

    assert client.get(SCHEDULE).url == f"{VERIFY}?next=%2Fschedule%2F"
    assert client.post(NEW_BACKUP_CODES).status_code == 403


# The pages that show secrets are never cached


def test_the_set_up_codes_and_backup_codes_pages_are_never_cached(client, staff):
    log_in(client, staff.email)
    set_up = client.get(SET_UP)
    client.post(SET_UP, {"code": code_at(key_on_page(html(set_up)))})
    backup_codes = client.get(BACKUP_CODES)

    for response in (set_up, backup_codes):
        assert "no-store" in response.headers["Cache-Control"]
    client.post(reverse("clients:logout"))
    log_in(client, staff.email)
    assert "no-store" in client.get(VERIFY).headers["Cache-Control"]


# New backup codes


def test_staff_get_new_backup_codes_and_the_old_ones_stop_working(client, staff):
    log_in(client, staff.email)
    client.post(SET_UP, {"code": code_at(key_on_page(html(client.get(SET_UP))))})
    old = backup_codes_on_page(html(client.get(BACKUP_CODES)))
    assert "Get new backup codes" in html(client.get(ACCOUNT))

    response = client.post(NEW_BACKUP_CODES, follow=True)

    new = backup_codes_on_page(html(response))
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)


def test_the_device_admin_pages_are_gone(staff_http):
    # They would show the secrets, and let a device go without a record of it.
    assert staff_http.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert staff_http.get("/admin/otp_static/staticdevice/").status_code == 404


def test_clients_see_no_second_factor_on_their_account(logged_in):
    assert "backup codes" not in html(logged_in.get(ACCOUNT))


def test_staff_with_user_permissions_only_see_whether_someone_has_a_second_factor(
    enrolled_staff,
):
    manager = UserFactory(email="manager@example.com", is_staff=True)
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    http = force_login_verified(HttpClient(), manager)

    page = html(http.get(reverse("admin:clients_user_change", args=[enrolled_staff.pk])))

    assert "Authenticator app since" in page
    assert authenticator_app(enrolled_staff).key not in page
