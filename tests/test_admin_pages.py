"""Every admin page a superuser can open renders, with demo data in place."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse


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
