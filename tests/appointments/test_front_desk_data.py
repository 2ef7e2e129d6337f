"""Data that cannot be wrong: working hours that never overlap, and treatments offered online
only when someone can give them somewhere."""

import datetime
import importlib

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from appointments.admin import WorkingHoursFormSet
from appointments.models import (
    Qualification,
    Room,
    Therapist,
    TimeOff,
    Treatment,
    WorkingHours,
)
from tests.factories import EquipmentFactory, TherapistFactory, TreatmentFactory
from tests.scheduling import open_spa

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

OVERLAP = "overlaps another block of the same therapist on the same day"
merged = importlib.import_module("appointments.migrations.0016_working_hours_do_not_overlap").merged


def hours(therapist: Therapist, start: str, end: str, weekday: int = 0) -> WorkingHours:
    return WorkingHours.objects.create(
        therapist=therapist,
        weekday=weekday,
        starts_at=datetime.time.fromisoformat(start),
        ends_at=datetime.time.fromisoformat(end),
    )


# Working hours


def test_postgresql_refuses_overlapping_working_hours_of_one_therapist():
    therapist = TherapistFactory()
    hours(therapist, "09:00", "12:00")

    with (
        pytest.raises(IntegrityError, match="appointments_workinghours_no_overlap"),
        transaction.atomic(),
    ):
        hours(therapist, "11:00", "14:00")
    with (
        pytest.raises(IntegrityError, match="appointments_workinghours_no_overlap"),
        transaction.atomic(),
    ):
        hours(therapist, "09:00", "12:00")  # the same block twice


def test_blocks_that_touch_or_are_on_other_days_or_of_others_are_fine():
    therapist, other = TherapistFactory(), TherapistFactory()
    hours(therapist, "09:00", "12:00")

    hours(therapist, "12:00", "15:00")  # a split shift may touch
    hours(therapist, "09:00", "12:00", weekday=1)
    hours(other, "09:00", "12:00")

    assert WorkingHours.objects.count() == 4


def test_the_model_check_gives_the_constraints_message():
    therapist = TherapistFactory()
    hours(therapist, "18:15", "23:59")

    with pytest.raises(Exception, match=OVERLAP):
        WorkingHours(
            therapist=therapist,
            weekday=0,
            starts_at=datetime.time(18, 15),
            ends_at=datetime.time(23, 59),
        ).validate_constraints()


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([("18:15", "23:59"), ("18:15", "23:59")], [("18:15", "23:59")]),
        ([("11:00", "14:00"), ("09:00", "12:00")], [("09:00", "14:00")]),
        ([("09:00", "17:00"), ("10:00", "11:00")], [("09:00", "17:00")]),
        ([("09:00", "12:00"), ("12:00", "15:00")], [("09:00", "12:00"), ("12:00", "15:00")]),
        (
            [("09:00", "10:00"), ("09:30", "11:00"), ("10:30", "12:00"), ("13:00", "14:00")],
            [("09:00", "12:00"), ("13:00", "14:00")],
        ),
    ],
)
def test_the_migration_merges_overlapping_blocks_and_keeps_touching_ones(blocks, expected):
    def times(pairs):
        return [tuple(datetime.time.fromisoformat(t) for t in pair) for pair in pairs]

    assert merged(times(blocks)) == times(expected)


def therapist_form(therapist: Therapist, blocks: list[tuple], existing=()) -> dict:
    """The therapist's admin page as posted: no qualifications or time off, these hours."""
    data = {
        "user": therapist.user_id,
        "display_name": therapist.display_name,
        "bio": "",
        "is_active": "on",
        "qualifications-TOTAL_FORMS": "0",
        "qualifications-INITIAL_FORMS": "0",
        "time_off-TOTAL_FORMS": "0",
        "time_off-INITIAL_FORMS": "0",
        "working_hours-TOTAL_FORMS": str(len(existing) + len(blocks)),
        "working_hours-INITIAL_FORMS": str(len(existing)),
    }
    for index, block in enumerate([*existing, *blocks]):
        row = block if isinstance(block, tuple) else (block.weekday, block.starts_at, block.ends_at)
        weekday, start, end = row
        data |= {
            f"working_hours-{index}-therapist": therapist.pk,
            f"working_hours-{index}-weekday": weekday,
            f"working_hours-{index}-starts_at": str(start)[:5],
            f"working_hours-{index}-ends_at": str(end)[:5],
        }
        if not isinstance(block, tuple):
            data[f"working_hours-{index}-id"] = block.pk
    return data


def test_the_admin_shows_overlapping_new_blocks_on_the_form(staff_http):
    therapist = TherapistFactory()

    response = staff_http.post(
        reverse("admin:appointments_therapist_change", args=[therapist.pk]),
        therapist_form(therapist, [(0, "09:00", "12:00"), (0, "11:00", "14:00")]),
    )

    assert response.status_code == 200
    assert OVERLAP in response.content.decode()
    assert not WorkingHours.objects.exists()


def test_the_admin_shows_a_block_overlapping_a_saved_one_on_the_form(staff_http):
    therapist = TherapistFactory()
    saved = hours(therapist, "18:15", "23:59")

    response = staff_http.post(
        reverse("admin:appointments_therapist_change", args=[therapist.pk]),
        therapist_form(therapist, [(0, "18:15", "23:59")], existing=[saved]),
    )

    assert response.status_code == 200
    assert OVERLAP in response.content.decode()
    assert WorkingHours.objects.count() == 1


def test_the_admin_saves_blocks_that_touch(staff_http):
    therapist = TherapistFactory()

    response = staff_http.post(
        reverse("admin:appointments_therapist_change", args=[therapist.pk]),
        therapist_form(therapist, [(0, "09:00", "12:00"), (0, "12:00", "15:00")]),
    )

    assert response.status_code == 302
    assert WorkingHours.objects.count() == 2


def test_overlapping_blocks_that_slip_past_the_forms_are_still_no_500(staff_http, monkeypatch):
    """Two managers saving the same therapist at once: PostgreSQL refuses the second, and
    the page says why (the forms' own checks are switched off here to get there)."""
    therapist = TherapistFactory()
    monkeypatch.setattr(WorkingHoursFormSet, "clean", lambda self: None)
    monkeypatch.setattr(WorkingHours, "validate_constraints", lambda self, exclude=None: None)

    response = staff_http.post(
        reverse("admin:appointments_therapist_change", args=[therapist.pk]),
        therapist_form(therapist, [(0, "09:00", "12:00"), (0, "11:00", "14:00")]),
    )

    assert response.status_code == 200
    assert OVERLAP in response.content.decode()
    assert not WorkingHours.objects.exists()


# Treatments offered online


def test_a_treatment_nobody_is_qualified_for_is_not_offered_online(client):
    spa = open_spa(name="Swedish massage")
    hot_stones = TreatmentFactory(name="Hot stones")

    listed = client.get(reverse("appointments:treatments")).content.decode()

    assert "Swedish massage" in listed
    assert "Hot stones" not in listed
    assert "Hot stones" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("appointments:treatment", args=[hot_stones.slug])).status_code == 404
    assert client.get(reverse("appointments:treatment", args=[spa.treatment.slug])).status_code == (
        200
    )


def test_a_treatment_no_room_has_the_equipment_for_is_not_offered_online(client):
    spa = open_spa(name="Swedish massage")
    ropes = EquipmentFactory(name="Floor mat with rope")
    spa.treatment.equipment.add(ropes)

    assert "Swedish massage" not in client.get(reverse("appointments:treatments")).content.decode()

    spa.room.equipment.add(ropes)
    assert "Swedish massage" in client.get(reverse("appointments:treatments")).content.decode()


def test_an_expired_qualification_or_a_room_out_of_service_counts_as_none():
    spa = open_spa(name="Swedish massage")
    assert list(Treatment.objects.offered_online()) == [spa.treatment]

    Qualification.objects.update(expires_on=datetime.date(2026, 11, 30))
    assert not Treatment.objects.offered_online().exists()
    Qualification.objects.update(expires_on=datetime.date(2026, 12, 1))
    Room.objects.update(is_in_service=False)
    assert not Treatment.objects.offered_online().exists()


def test_the_admin_says_why_a_treatment_is_not_offered_online(staff_http):
    open_spa(name="Swedish massage")
    hot_stones = TreatmentFactory(name="Hot stones")

    listing = staff_http.get(reverse("admin:appointments_treatment_changelist")).content.decode()
    page = staff_http.get(
        reverse("admin:appointments_treatment_change", args=[hot_stones.pk])
    ).content.decode()

    assert "No: No active therapist is qualified for it" in listing
    assert "Yes" in listing
    assert "This treatment is not offered online. No active therapist is qualified" in page


def test_the_therapists_page_shows_time_off_coming_and_recent_and_saving_keeps_the_rest(
    staff_http,
):
    """Years of holidays do not make the therapist's page longer every year."""
    therapist = TherapistFactory()
    now = timezone.now()
    days = datetime.timedelta(days=1)
    old, recent, coming = (
        TimeOff.objects.create(
            therapist=therapist, starts_at=now + start * days, ends_at=now + end * days
        )
        for start, end in [(-400, -390), (-20, -10), (10, 12)]
    )
    page = reverse("admin:appointments_therapist_change", args=[therapist.pk])

    html = staff_http.get(page).content.decode()

    assert f'name="time_off-0-id" value="{recent.pk}"' in html
    assert f'name="time_off-1-id" value="{coming.pk}"' in html
    assert 'name="time_off-2-id"' not in html
    assert 'name="time_off-INITIAL_FORMS" value="2"' in html
    assert staff_http.post(page, therapist_form(therapist, [])).status_code == 302
    assert set(TimeOff.objects.all()) == {old, recent, coming}
