"""The admin's delete confirmation for records the history points at
(spa_booking/admin_deletion.py): a kept record stops it in a few queries, however long the
history; a record nothing keeps is deleted as Django deletes it."""

import datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import Appointment, Room, Therapist, Treatment, WaitlistEntry
from spa_booking.admin_deletion import KeptRecordsMixin, kept_paths
from tests.factories import ClientFactory, RoomFactory, TherapistFactory, TreatmentFactory
from tests.scheduling import NOW

pytestmark = pytest.mark.django_db

PROTECTED = "would require deleting the following protected related objects"


def book(count: int, *, days_ago: int = 1, **kept) -> None:
    """`count` past appointments a day apart, the latest `days_ago` days ago, of the given
    treatment, therapist, room or client (others made for each otherwise)."""
    treatment = kept.get("treatment") or TreatmentFactory()
    Appointment.objects.bulk_create(
        Appointment(
            client=kept.get("client") or ClientFactory(),
            therapist=kept.get("therapist") or TherapistFactory(),
            room=kept.get("room") or RoomFactory(),
            treatment=treatment,
            starts_at=NOW - datetime.timedelta(days=day),
            ends_at=NOW - datetime.timedelta(days=day, minutes=-60),
            blocked_until=NOW - datetime.timedelta(days=day, minutes=-75),
            status=Appointment.Status.COMPLETED,
        )
        for day in range(days_ago, days_ago + count)
    )


def delete_page(http, obj):
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    with CaptureQueriesContext(connection) as queries:
        response = http.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


@pytest.mark.parametrize("kind", ["treatment", "therapist", "room"])
def test_a_booked_record_cannot_be_deleted_and_the_page_reads_none_of_its_history(staff_http, kind):
    obj = {"treatment": TreatmentFactory, "therapist": TherapistFactory, "room": RoomFactory}[
        kind
    ]()
    book(3, **{kind: obj})
    page, queries = delete_page(staff_http, obj)
    book(30, days_ago=10, **{kind: obj})
    page_later, queries_later = delete_page(staff_http, obj)

    assert PROTECTED in page
    assert "Appointments (the spa keeps them)" in page
    assert "I’m sure" not in page  # nothing to confirm
    assert queries_later == queries  # Django's listing grew with every appointment


def test_a_booked_record_cannot_be_deleted_by_posting_the_confirmation(staff_http):
    treatment = TreatmentFactory()
    book(2, treatment=treatment)
    url = reverse("admin:appointments_treatment_delete", args=[treatment.pk])

    response = staff_http.post(url, {"post": "yes"})

    assert PROTECTED in response.content.decode()
    assert Treatment.objects.filter(pk=treatment.pk).exists()


def test_delete_selected_stops_at_the_kept_records_of_any_of_them(staff_http):
    booked, unbooked = TreatmentFactory(), TreatmentFactory()
    book(2, treatment=booked)

    response = staff_http.post(
        reverse("admin:appointments_treatment_changelist"),
        {"action": "delete_selected", "_selected_action": [booked.pk, unbooked.pk], "post": "yes"},
    )

    assert PROTECTED in response.content.decode()
    assert Treatment.objects.filter(pk__in=[booked.pk, unbooked.pk]).count() == 2


def test_a_client_account_with_appointments_is_kept_through_its_profile(staff_http):
    """Deleting the user would delete the client profile, which appointments protect."""
    client = ClientFactory()
    book(1, client=client)

    page, _ = delete_page(staff_http, client.user)

    assert PROTECTED in page
    assert "Appointments (the spa keeps them)" in page


def test_a_record_nothing_keeps_is_deleted_as_django_deletes_it(staff_http):
    room = RoomFactory(name="Room never used")
    page, _ = delete_page(staff_http, room)
    assert PROTECTED not in page

    staff_http.post(reverse("admin:appointments_room_delete", args=[room.pk]), {"post": "yes"})

    assert not Room.objects.filter(pk=room.pk).exists()


def test_every_admin_of_a_record_the_history_may_keep_asks_first(staff_user):
    """A model admin added later for such a record must ask too, or never delete."""
    request = RequestFactory().get("/admin/")
    request.user = staff_user  # a superuser: every permission a model admin does not refuse
    for model, model_admin in admin.site._registry.items():
        if not kept_paths(model):
            continue
        never = not model_admin.has_delete_permission(request, None)
        assert never or isinstance(model_admin, KeptRecordsMixin), model


def test_the_therapists_kept_records_are_their_appointments_and_waits():
    assert set(kept_paths(Therapist)) == {(Appointment, "therapist"), (WaitlistEntry, "therapist")}
