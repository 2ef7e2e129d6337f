"""Every admin page a superuser can open renders, with demo data in place."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import resolve, reverse


@pytest.mark.django_db
def test_every_admin_list_add_and_change_page_opens(staff_http):
    call_command("seed_demo", "--allow-production", stdout=StringIO())

    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = staff_http.get(reverse(f"{prefix}_changelist"))
        assert changelist.status_code == 200, prefix
        add = staff_http.get(reverse(f"{prefix}_add"))
        assert add.status_code in (200, 403), prefix
        first = model_admin.get_queryset(changelist.wsgi_request).first()
        if first is not None:
            change = staff_http.get(reverse(f"{prefix}_change", args=[first.pk]))
            assert change.status_code == 200, prefix


def test_admin_links_resolve_without_trying_the_sites_pages_first():
    """A filtered admin list resolves every row's link again (Django's
    add_preserved_filters): the admin comes first in the URLconf, so that costs no
    failed match of each of the site's pages."""
    match = resolve(reverse("admin:appointments_appointment_change", args=[1]))

    assert match.view_name == "admin:appointments_appointment_change"
    assert {str(tried[0].pattern) for tried in match.tried} == {"admin/"}
