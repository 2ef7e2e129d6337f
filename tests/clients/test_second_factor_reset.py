"""A superuser resets a lost second factor; the reset is recorded and cannot be undone."""

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clients import two_factor
from clients.models import SecondFactorReset
from tests.factories import UserFactory
from tests.two_factor import authenticator_app, force_login_verified

pytestmark = pytest.mark.django_db

USERS = reverse("admin:clients_user_changelist")
RESETS = reverse("admin:clients_secondfactorreset_changelist")
APPEND_ONLY = "clients_secondfactorreset_append_only"


@pytest.fixture
def reviewer_with_codes(reviewer):
    authenticator_app(reviewer)
    device = StaticDevice.objects.create(user=reviewer, name="Backup codes")
    StaticToken.objects.create(device=device, token="abcd2345")
    return reviewer


def reset_action(http: HttpClient, *users):
    return http.post(
        USERS,
        {"action": "reset_second_factor", "_selected_action": [user.pk for user in users]},
        follow=True,
    )


def test_a_superuser_resets_a_lost_phone_and_it_is_recorded(
    staff_http, staff_user, reviewer_with_codes
):
    response = reset_action(staff_http, reviewer_with_codes)

    assert f"The second factor of {reviewer_with_codes} is reset" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=reviewer_with_codes).exists()
    assert not StaticDevice.objects.filter(user=reviewer_with_codes).exists()
    reset = SecondFactorReset.objects.get()
    assert (reset.user, reset.reset_by) == (reviewer_with_codes, staff_user)
    listing = staff_http.get(RESETS).content.decode()
    assert reviewer_with_codes.email in listing and staff_user.email in listing


def test_after_a_reset_the_session_verified_with_the_old_phone_must_set_up_a_new_one(
    staff_http, reviewer_with_codes
):
    reviewers_browser = force_login_verified(HttpClient(), reviewer_with_codes)
    assert reviewers_browser.get(reverse("admin:index")).status_code == 200

    reset_action(staff_http, reviewer_with_codes)

    response = reviewers_browser.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor:set_up"))


def test_staff_who_may_edit_users_but_are_not_superusers_cannot_reset(reviewer_with_codes):
    manager = UserFactory(email="manager@example.com", is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    http = force_login_verified(HttpClient(), manager)

    assert "reset_second_factor" not in http.get(USERS).content.decode()
    reset_action(http, reviewer_with_codes)

    assert TOTPDevice.objects.filter(user=reviewer_with_codes).exists()
    assert not SecondFactorReset.objects.exists()
    assert http.get(RESETS).status_code == 403
    with pytest.raises(two_factor.TwoFactorError, match="Only a superuser"):
        two_factor.reset_second_factor(user=reviewer_with_codes, reset_by=manager)


def test_a_superuser_cannot_reset_their_own(staff_http, staff_user):
    authenticator_app(staff_user)

    response = reset_action(staff_http, staff_user)

    assert "Another superuser has to reset your own second factor." in response.content.decode()
    assert TOTPDevice.objects.filter(user=staff_user).exists()
    assert not SecondFactorReset.objects.exists()


def test_the_record_cannot_be_added_changed_or_deleted_in_the_admin(
    staff_http, reviewer_with_codes
):
    reset_action(staff_http, reviewer_with_codes)
    reset = SecondFactorReset.objects.get()

    assert staff_http.get(reverse("admin:clients_secondfactorreset_add")).status_code == 403
    change = reverse("admin:clients_secondfactorreset_change", args=[reset.pk])
    assert 'name="_save"' not in staff_http.get(change).content.decode()
    delete = reverse("admin:clients_secondfactorreset_delete", args=[reset.pk])
    assert staff_http.post(delete, {"post": "yes"}).status_code == 403
    assert SecondFactorReset.objects.filter(pk=reset.pk).exists()


def test_postgresql_keeps_the_record_and_refuses_a_reset_of_ones_own(
    staff_user, reviewer_with_codes
):
    reset = SecondFactorReset.objects.create(user=reviewer_with_codes, reset_by=staff_user)

    with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
        SecondFactorReset.objects.filter(pk=reset.pk).update(reset_by=reviewer_with_codes)
    with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
        SecondFactorReset.objects.filter(pk=reset.pk).delete()
    with (
        pytest.raises(IntegrityError, match="clients_secondfactorreset_not_own"),
        transaction.atomic(),
    ):
        SecondFactorReset.objects.create(user=staff_user, reset_by=staff_user)
    assert SecondFactorReset.objects.get().reset_by == staff_user
