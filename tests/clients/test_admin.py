import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from clients.models import Client, DateOfBirthCorrection
from clients.services import AccountError, correct_date_of_birth


def admin_change_data(client_account: Client, **overrides) -> dict:
    data = {
        "full_name": client_account.full_name,
        "phone": client_account.phone,
        "date_of_birth": client_account.date_of_birth.isoformat(),
        "date_of_birth_correction_reason": "",
        "date_of_birth_corrections-TOTAL_FORMS": "0",
        "date_of_birth_corrections-INITIAL_FORMS": "0",
        "date_of_birth_corrections-MIN_NUM_FORMS": "0",
        "date_of_birth_corrections-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_staff_correct_date_of_birth_in_admin_and_it_is_recorded(
    staff_http, staff_user, client_account
):
    url = reverse("admin:clients_client_change", args=[client_account.pk])

    response = staff_http.post(
        url,
        admin_change_data(
            client_account,
            date_of_birth="1991-03-27",
            date_of_birth_correction_reason="Passport shown at reception.",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    client_account.refresh_from_db()
    assert client_account.date_of_birth == datetime.date(1991, 3, 27)
    correction = DateOfBirthCorrection.objects.get()
    assert correction.client == client_account
    assert correction.old_date_of_birth == datetime.date(1990, 3, 27)
    assert correction.new_date_of_birth == datetime.date(1991, 3, 27)
    assert correction.corrected_by == staff_user
    assert correction.reason == "Passport shown at reception."
    assert LogEntry.objects.filter(object_id=str(client_account.pk)).exists()


@pytest.mark.django_db
def test_admin_refuses_a_date_of_birth_change_without_a_reason(staff_http, client_account):
    url = reverse("admin:clients_client_change", args=[client_account.pk])

    response = staff_http.post(url, admin_change_data(client_account, date_of_birth="1991-03-27"))

    assert response.status_code == 200
    assert "Say why the date of birth is being corrected." in response.content.decode()
    client_account.refresh_from_db()
    assert client_account.date_of_birth == datetime.date(1990, 3, 27)
    assert not DateOfBirthCorrection.objects.exists()


@pytest.mark.django_db
def test_admin_refuses_a_date_of_birth_in_the_future(staff_http, client_account):
    url = reverse("admin:clients_client_change", args=[client_account.pk])

    response = staff_http.post(
        url,
        admin_change_data(
            client_account, date_of_birth="2999-01-01", date_of_birth_correction_reason="x"
        ),
    )

    assert "The date of birth must be in the past." in response.content.decode()
    client_account.refresh_from_db()
    assert client_account.date_of_birth == datetime.date(1990, 3, 27)


@pytest.mark.django_db
def test_admin_edit_without_date_change_records_no_correction(staff_http, client_account):
    url = reverse("admin:clients_client_change", args=[client_account.pk])

    staff_http.post(url, admin_change_data(client_account, phone="07700 900777"))

    client_account.refresh_from_db()
    assert client_account.phone == "07700 900777"
    assert not DateOfBirthCorrection.objects.exists()


@pytest.mark.django_db
def test_corrections_cannot_be_edited_or_deleted_in_admin(staff_http, staff_user, client_account):
    correction = correct_date_of_birth(
        client=client_account,
        new_date_of_birth=datetime.date(1991, 1, 1),
        corrected_by=staff_user,
        reason="Typo at sign-up.",
    )
    change_url = reverse("admin:clients_dateofbirthcorrection_change", args=[correction.pk])
    delete_url = reverse("admin:clients_dateofbirthcorrection_delete", args=[correction.pk])

    assert staff_http.post(change_url, {"reason": "rewritten"}).status_code == 403
    assert staff_http.post(delete_url, {"post": "yes"}).status_code == 403
    correction.refresh_from_db()
    assert correction.reason == "Typo at sign-up."


@pytest.mark.django_db
def test_correction_service_refuses_no_change_and_missing_reason(staff_user, client_account):
    with pytest.raises(AccountError, match="already the date of birth"):
        correct_date_of_birth(
            client=client_account,
            new_date_of_birth=client_account.date_of_birth,
            corrected_by=staff_user,
            reason="Checking.",
        )
    with pytest.raises(AccountError, match="Say why"):
        correct_date_of_birth(
            client=client_account,
            new_date_of_birth=datetime.date(1991, 1, 1),
            corrected_by=staff_user,
            reason="  ",
        )
    assert not DateOfBirthCorrection.objects.exists()


@pytest.mark.django_db
def test_staff_cannot_add_a_client_profile_in_admin(staff_http):
    assert staff_http.get(reverse("admin:clients_client_add")).status_code == 403
