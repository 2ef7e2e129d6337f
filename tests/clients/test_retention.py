"""Retention: health records are purged SPA_HEALTH_RECORD_RETENTION_YEARS (8) after the
client's last appointment, or their last screening when they never had an appointment.
The account stays; the command is safe to run again and names nobody."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from appointments.models import Appointment
from appointments.services import book_appointment
from clients import services
from clients.models import Client
from screening.models import HealthScreening
from tests.factories import ClientFactory
from tests.scheduling import NOW, Spa, at, open_spa
from tests.screenings import screen

pytestmark = pytest.mark.django_db

EIGHT_YEARS_AGO = datetime.date(2018, 12, 1)  # NOW is 1 December 2026


@pytest.fixture
def spa() -> Spa:
    return open_spa(name="Ashiatsu", back_walking=True)


def back_walking_on(spa: Spa, day: datetime.date, name: str) -> Client:
    """A client screened the day before `day` and given back-walking at 10:00 that day."""
    client = ClientFactory(full_name=name)
    with time_machine.travel(at(day - datetime.timedelta(days=1), 8), tick=False):
        screen(client, other_conditions=f"{name}'s old injury")
        book_appointment(
            client=client,
            treatment=spa.treatment,
            start=at(day, 10),
            therapist=spa.therapist,
            health_unchanged=True,
        )
    return client


def screened_on(day: datetime.date, name: str) -> Client:
    client = ClientFactory(full_name=name)
    with time_machine.travel(at(day, 8), tick=False):
        screen(client)
    return client


def purge() -> str:
    output = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_health_records", stdout=output)
    return output.getvalue()


def has_health_records(client: Client) -> bool:
    return HealthScreening.objects.filter(client=client).exists()


def test_health_records_are_purged_eight_years_after_the_last_appointment(spa):
    old = back_walking_on(spa, EIGHT_YEARS_AGO - datetime.timedelta(days=1), "Olga Old")
    recent = back_walking_on(spa, EIGHT_YEARS_AGO + datetime.timedelta(days=1), "Rita Recent")

    report = purge()

    assert report == "Purged the health records of 1 client.\n"
    assert not has_health_records(old)
    assert has_health_records(recent)


def test_the_account_and_the_appointments_stay(spa):
    old = back_walking_on(spa, datetime.date(2017, 6, 1), "Olga Old")

    purge()

    old = Client.objects.select_related("user").get(pk=old.pk)
    assert (old.full_name, old.user.is_active, old.erased_at) == ("Olga Old", True, None)
    [appointment] = Appointment.objects.filter(client=old)
    assert appointment.screening is None


def test_a_later_screening_keeps_the_records(spa):
    client = back_walking_on(spa, datetime.date(2017, 6, 1), "Sam Screened")
    with time_machine.travel(at(datetime.date(2020, 1, 1), 8), tick=False):
        screen(client)

    purge()

    assert HealthScreening.objects.filter(client=client).count() == 2


def test_a_later_appointment_keeps_the_records(spa):
    client = back_walking_on(spa, datetime.date(2017, 6, 1), "Ada Again")
    with time_machine.travel(at(datetime.date(2026, 6, 1), 8), tick=False):
        book_appointment(
            client=client,
            treatment=open_spa(name="Swedish massage").treatment,
            start=at(datetime.date(2026, 6, 2), 10),
        )

    purge()

    assert has_health_records(client)


def test_a_client_without_appointments_counts_from_their_last_screening():
    old = screened_on(datetime.date(2018, 11, 30), "Nina Never-booked")
    recent = screened_on(datetime.date(2018, 12, 2), "Rhea Recently-screened")

    purge()

    assert not has_health_records(old)
    assert has_health_records(recent)


def test_running_it_again_does_nothing(spa):
    back_walking_on(spa, datetime.date(2017, 6, 1), "Olga Old")
    screened_on(datetime.date(2016, 1, 1), "Nina Never-booked")

    assert purge() == "Purged the health records of 2 clients.\n"
    assert purge() == "No health records were due for purging.\n"


def test_the_report_names_nobody(spa):
    back_walking_on(spa, datetime.date(2017, 6, 1), "Olga Old")

    report = purge()

    assert "Olga" not in report
    assert "injury" not in report


def test_the_retention_period_is_a_setting(spa, settings):
    settings.SPA_HEALTH_RECORD_RETENTION_YEARS = 2
    two_and_a_bit = back_walking_on(spa, datetime.date(2024, 11, 1), "Tess Two")
    one_and_a_bit = back_walking_on(spa, datetime.date(2025, 11, 1), "Una One")

    purge()

    assert not has_health_records(two_and_a_bit)
    assert has_health_records(one_and_a_bit)


def test_cancellation_reasons_are_purged_too(spa):
    client = back_walking_on(spa, datetime.date(2017, 6, 1), "Olga Old")
    Appointment.objects.filter(client=client).update(
        status=Appointment.Status.CANCELLED,
        cancelled_at=at(datetime.date(2017, 5, 31), 12),
        cancellation_reason="Your new health screening says back-walking is not safe for you.",
    )

    purge()

    assert Appointment.objects.get(client=client).cancellation_reason == ""


def test_the_service_checks_again_under_the_clients_lock(spa):
    recent = back_walking_on(spa, datetime.date(2026, 1, 1), "Rita Recent")

    with time_machine.travel(NOW, tick=False):
        assert services.purge_health_records(client=recent) is False

    assert has_health_records(recent)


def test_the_cutoff_on_29_february_is_28_february(settings):
    settings.SPA_HEALTH_RECORD_RETENTION_YEARS = 1
    leap_day = datetime.datetime(2028, 2, 29, 12, tzinfo=datetime.UTC)

    assert services.health_record_cutoff(leap_day).date() == datetime.date(2027, 2, 28)
