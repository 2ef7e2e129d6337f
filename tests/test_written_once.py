"""The booking path's statements, written once per process (spa_booking/written_once.py)."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models.expressions import DatabaseDefault
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.forms import BookingForm
from appointments.models import Appointment, Therapist, Treatment
from clients.models import AccessRecord
from spa_booking.written_once import Insert, Lookup
from tests.factories import ClientFactory, TherapistFactory, TreatmentFactory, UserFactory
from tests.scheduling import TOMORROW, at, open_spa

pytestmark = pytest.mark.django_db

BY_SLUG = Lookup(lambda slug: Treatment.objects.active().filter(slug=slug), stand_in="not a slug")


def test_a_lookup_finds_what_the_queryset_finds_with_the_same_statement():
    wanted = TreatmentFactory(name="Ashiatsu")
    TreatmentFactory(name="Swedish")
    TreatmentFactory(name="Retired", is_active=False)

    with CaptureQueriesContext(connection) as looked_up:
        found = BY_SLUG.first(wanted.slug)
    with CaptureQueriesContext(connection) as built:
        (orm,) = Treatment.objects.active().filter(slug=wanted.slug)[:1]

    assert found == orm == wanted
    for field in Treatment._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
    assert [query["sql"] for query in looked_up] == [query["sql"] for query in built]
    assert BY_SLUG.first("retired") is None
    assert BY_SLUG.first("no-such-treatment") is None


def test_a_stand_in_the_queryset_uses_elsewhere_is_refused():
    both = Lookup(lambda value: Therapist.objects.filter(pk=value, user_id=value), stand_in=-1)

    with pytest.raises(ValueError, match="is not one parameter"):
        both.first(1)


@pytest.mark.parametrize(
    "therapist", ["0", "99999999999999999999999999", "-1", "1.5", "x", "²", "٣"]
)
def test_a_therapist_who_is_not_there_is_a_clear_form_error(therapist):
    form = BookingForm({"start": "2026-12-02T10:00Z", "therapist": therapist})

    assert not form.is_valid()
    assert form.errors["therapist"] == [
        "Pick a therapist from the list, or any available therapist."
    ]


def test_a_therapist_on_leave_from_the_spa_is_not_bookable_and_an_active_one_is():
    active, retired = TherapistFactory(), TherapistFactory(is_active=False)

    valid = BookingForm({"start": "2026-12-02T10:00Z", "therapist": str(active.pk)})
    invalid = BookingForm({"start": "2026-12-02T10:00Z", "therapist": str(retired.pk)})

    assert valid.is_valid() and valid.cleaned_data["therapist"] == active
    assert not invalid.is_valid()


@pytest.mark.usefixtures("frozen_clock")
def test_an_insert_writes_the_row_the_orm_would_write():
    """Insert saves a new appointment as Model.save() would: every column, the model's
    defaults for those not given, the id back on the instance."""
    spa = open_spa()
    client = ClientFactory()
    given = {
        "client": client,
        "therapist": spa.therapist,
        "treatment": spa.treatment,
        "room": spa.rooms[0],
        "booking_token": uuid.uuid4(),
    }
    ours = Insert(Appointment).save(Appointment(**given, **span(at(TOMORROW, 10))))
    django = Appointment.objects.create(**given | {"booking_token": None}, **span(at(TOMORROW, 12)))

    assert ours.pk and not ours._state.adding and ours._state.db == "default"
    ours_row = Appointment.objects.filter(pk=ours.pk).values().get()
    django_row = Appointment.objects.filter(pk=django.pk).values().get()
    different = {"id", "starts_at", "ends_at", "blocked_until", "booking_token"}
    assert {k: v for k, v in ours_row.items() if k not in different} == {
        k: v for k, v in django_row.items() if k not in different
    }
    assert ours_row["booking_token"] == given["booking_token"]
    assert ours_row["starts_at"] == at(TOMORROW, 10)


def span(start: datetime.datetime) -> dict:
    end = start + datetime.timedelta(hours=1)
    return {"starts_at": start, "ends_at": end, "blocked_until": end}


def test_an_insert_asks_for_a_value_where_the_model_leaves_it_to_the_database():
    """A field with only a database default is not the Insert's to guess."""
    needs_follow_up = Appointment._meta.get_field("needs_follow_up")
    appointment = Appointment(needs_follow_up=DatabaseDefault(needs_follow_up.db_default))

    with pytest.raises(ValueError, match="Set needs_follow_up on the instance"):
        Insert(Appointment).save(appointment)


def test_save_each_writes_the_rows_bulk_create_would_write():
    """One row per value, in order, each as AccessRecord(...).save() would write it."""
    staff = UserFactory(is_staff=True)
    clients = [ClientFactory() for _ in range(3)]
    ids = [client.pk for client in reversed(clients)]
    at = timezone.now()
    given = {"viewed_by": staff, "viewed_at": at, "kind": AccessRecord.Kind.EXPORT}

    Insert(AccessRecord).save_each(AccessRecord(**given, address="192.0.2.1"), "client", ids)
    for client_id in ids:
        AccessRecord(**given, client_id=client_id, address="192.0.2.1").save()

    columns = ["client_id", "viewed_by_id", "viewed_at", "kind", "address"]
    rows = list(AccessRecord.objects.order_by("pk").values_list(*columns))
    assert rows[:3] == rows[3:]
    assert [row[0] for row in rows[:3]] == ids
    assert rows[0][1:] == (staff.pk, at, "export", "192.0.2.1")


def test_save_each_of_nothing_writes_nothing():
    staff = UserFactory(is_staff=True)
    record = AccessRecord(viewed_by=staff, kind=AccessRecord.Kind.EXPORT)

    with CaptureQueriesContext(connection) as queries:
        Insert(AccessRecord).save_each(record, "client", [])

    assert len(queries) == 0 and not AccessRecord.objects.exists()
