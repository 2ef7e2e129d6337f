import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments.models import Appointment, Notice, Room, Therapist, Treatment, WorkingHours
from clients.models import Client, User


def seed() -> str:
    output = StringIO()
    call_command("seed_demo", "--allow-production", stdout=output)
    return output.getvalue()


def age_today(date_of_birth: datetime.date) -> int:
    today = timezone.localdate()
    return (
        today.year
        - date_of_birth.year
        - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    )


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_spa_and_prints_the_logins():
    output = seed()

    assert Treatment.objects.filter(is_back_walking=True).count() == 3
    assert Treatment.objects.filter(is_back_walking=False).exists()
    ashiatsu = Treatment.objects.get(slug="ashiatsu-60")
    assert "Overhead bars" in ashiatsu.equipment.values_list("name", flat=True)
    assert Room.objects.filter(equipment__name="Overhead bars").exists()
    assert Room.objects.exclude(equipment__name="Overhead bars").exists()
    assert Therapist.objects.count() == 3
    assert all(t.working_hours.exists() for t in Therapist.objects.all())
    for email in (
        "ana@spa.example",
        "theo@spa.example",
        "reviewer@spa.example",
        "admin@spa.example",
    ):
        assert email in output
        assert User.objects.filter(email=email).exists()
    assert age_today(Client.objects.get(user__email="ana@spa.example").date_of_birth) >= 18
    assert age_today(Client.objects.get(user__email="theo@spa.example").date_of_birth) == 17


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    seed()
    counts = [m.objects.count() for m in (User, Client, Treatment, Room, Therapist, WorkingHours)]

    seed()

    assert [
        m.objects.count() for m in (User, Client, Treatment, Room, Therapist, WorkingHours)
    ] == counts


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production_without_being_told(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_bookings_owe_nobody_an_email():
    seed()

    assert Appointment.objects.exists()
    assert not Notice.objects.exists()
