"""Only a superuser grants access: staff who may edit accounts cannot make anyone more."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client as HttpClient
from django.urls import reverse

from clients.admin import UserAdmin
from clients.models import User
from tests.conftest import reviewers_group
from tests.factories import ClientFactory, UserFactory
from tests.two_factor import force_login_verified

pytestmark = pytest.mark.django_db

PRIVILEGES = ("is_staff", "is_superuser", "groups", "user_permissions")


@pytest.fixture
def manager() -> User:
    """Staff who may look after accounts (change users), but are not superusers."""
    user = UserFactory(email="manager@example.com", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="clients", codename__in=["view_user", "change_user"]
        )
    )
    return user


@pytest.fixture
def manager_http(manager) -> HttpClient:
    return force_login_verified(HttpClient(), manager)


def change_url(user: User) -> str:
    return reverse("admin:clients_user_change", args=[user.pk])


def forged_post(user: User, **extra) -> dict:
    """The change form as posted, with every privilege asked for."""
    return {
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [reviewers_group().pk],
        "user_permissions": [Permission.objects.get(codename="delete_user").pk],
        **extra,
    }


def privileges(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (
        user.is_staff,
        user.is_superuser,
        set(user.groups.all()),
        set(user.user_permissions.values_list("codename", flat=True)),
    )


def test_the_privileges_are_read_only_on_the_form_for_them(manager_http):
    client = ClientFactory()

    page = manager_http.get(change_url(client.user)).content.decode()

    for field in PRIVILEGES:
        assert f'name="{field}"' not in page
    assert 'name="email"' in page  # the rest of the account they do edit


@pytest.mark.parametrize("whose", ["own", "a client's"])
def test_a_forged_post_grants_nothing(manager, manager_http, whose):
    user = manager if whose == "own" else ClientFactory().user
    before = privileges(user)

    manager_http.post(change_url(user), forged_post(user, email=f"new-{user.email}"))

    assert privileges(user) == before
    assert User.objects.get(pk=user.pk).email == f"new-{user.email}"  # the rest did save


def test_the_save_itself_refuses_a_privilege_the_form_let_through(
    manager, manager_http, monkeypatch
):
    # As if someone one day put the fields back on the form for everyone.
    monkeypatch.setattr(
        UserAdmin,
        "get_readonly_fields",
        lambda self, request, obj=None: ["last_login", "date_joined", "second_factor"],
    )
    client = ClientFactory()
    before = privileges(client.user)

    response = manager_http.post(change_url(client.user), forged_post(client.user))

    assert response.status_code == 403
    assert privileges(client.user) == before


def test_they_cannot_touch_a_superusers_account(manager_http, staff_user):
    assert 'name="email"' not in manager_http.get(change_url(staff_user)).content.decode()
    response = manager_http.post(
        change_url(staff_user), forged_post(staff_user, email="mine@example.com")
    )
    assert response.status_code == 403
    assert User.objects.get(pk=staff_user.pk).email == staff_user.email
    password = reverse("admin:auth_user_password_change", args=[staff_user.pk])
    response = manager_http.post(
        password, {"password1": "taken-over-now-1", "password2": "taken-over-now-1"}
    )
    assert response.status_code == 403
    assert User.objects.get(pk=staff_user.pk).check_password("taken-over-now-1") is False
    delete = reverse("admin:clients_user_delete", args=[staff_user.pk])
    assert manager_http.post(delete, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=staff_user.pk).exists()


def test_a_superuser_grants_them(staff_http):
    user = ClientFactory().user

    response = staff_http.post(change_url(user), forged_post(user))

    assert response.status_code == 302
    assert privileges(user) == (True, True, {reviewers_group()}, {"delete_user"})


def test_only_a_superuser_changes_what_a_group_may_do(manager, staff_http):
    manager.user_permissions.add(*Permission.objects.filter(codename__endswith="_group"))
    http = force_login_verified(HttpClient(), manager)
    group = reviewers_group()
    url = reverse("admin:auth_group_change", args=[group.pk])
    anything = {
        "name": group.name,
        "permissions": list(Permission.objects.values_list("pk", flat=True)),
    }

    http.post(url, anything)
    assert group.permissions.count() == 1
    assert http.post(reverse("admin:auth_group_add"), {"name": "Everything"}).status_code == 403
    assert not Group.objects.filter(name="Everything").exists()

    staff_http.post(url, anything)
    assert group.permissions.count() == Permission.objects.count()
