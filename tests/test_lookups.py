"""The booking path's lookups in SQL the ORM writes once (spa_booking/lookups.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.forms import BookingForm
from appointments.models import Therapist, Treatment
from spa_booking.lookups import Lookup
from tests.factories import TherapistFactory, TreatmentFactory

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


@pytest.mark.parametrize("therapist", ["0", "99999999999999999999999999", "-1", "1.5", "x"])
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
