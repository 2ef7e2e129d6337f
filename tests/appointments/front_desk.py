"""The front desk in tests: its staff, logged in with their second factor."""

import importlib

from django.contrib.auth.models import Group, Permission
from django.test import Client as HttpClient

from appointments.front_desk.access import GROUP
from clients.models import User
from tests.factories import UserFactory
from tests.two_factor import force_login_verified

MIGRATION = importlib.import_module("appointments.migrations.0017_front_desk_group")


def front_desk_group() -> Group:
    """The group a migration makes; made again after a transactional test emptied the tables."""
    group, created = Group.objects.get_or_create(name=GROUP)
    if created:
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in MIGRATION.PERMISSIONS
        )
    return group


def front_desk_user(email: str = "desk@example.com") -> User:
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(front_desk_group())
    return user


def front_desk_http(user: User | None = None) -> HttpClient:
    return force_login_verified(HttpClient(), user or front_desk_user())
