"""Every appointment invariant is a named PostgreSQL constraint, tested both ways:
as a validation error through the model, and as a database error on a raw write."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from appointments.models import Appointment
from tests.factories import ClientFactory
from tests.scheduling import TOMORROW, at, open_spa

pytestmark = pytest.mark.django_db

EXCLUSIONS = {
    "appointments_appointment_no_therapist_overlap",
    "appointments_appointment_no_room_overlap",
    "appointments_appointment_no_client_overlap",
}
CHECKS = {
    "appointments_appointment_ends_after_start",
    "appointments_appointment_blocked_until_after_end",
    "appointments_appointment_known_status",
    "appointments_appointment_cancelled_at_with_status",
}


def make(spa, *, client=None, therapist=None, room=None, start=None, status="confirmed", save=True):
    start = start or at(TOMORROW, 10)
    appointment = Appointment(
        client=client or ClientFactory(),
        therapist=therapist or spa.therapist,
        treatment=spa.treatment,
        room=room or spa.room,
        starts_at=start,
        ends_at=start + spa.treatment.duration,
        blocked_until=start + spa.treatment.duration + spa.treatment.buffer,
        status=status,
        cancelled_at=at(TOMORROW, 8) if status == "cancelled" else None,
    )
    if save:
        appointment.save()
    return appointment


def raw_insert(appointment: Appointment) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO appointments_appointment (client_id, therapist_id, treatment_id, room_id,"
            " starts_at, ends_at, blocked_until, status, cancelled_at, created_at, updated_at,"
            " revision, cancellation_reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), now(), 0, '')",
            [
                appointment.client_id,
                appointment.therapist_id,
                appointment.treatment_id,
                appointment.room_id,
                appointment.starts_at,
                appointment.ends_at,
                appointment.blocked_until,
                appointment.status,
                appointment.cancelled_at,
            ],
        )


def test_constraints_are_in_postgresql_by_name():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'appointments_appointment'::regclass"
        )
        found = {name: (kind, definition) for name, kind, definition in cursor.fetchall()}

    for name in EXCLUSIONS:
        kind, definition = found[name]
        assert kind == "x"
        assert "gist" in definition.lower()
        assert "&&" in definition
        # Cancelled rows are left out by naming "cancelled" itself, so a status
        # added later still blocks time.
        assert "WHERE ((NOT ((status)::text = 'cancelled'::text)))" in definition
    for name in CHECKS:
        assert found[name][0] == "c"


@pytest.mark.parametrize(
    ("overlap", "message"),
    [
        ("therapist", "The therapist already has an appointment at that time."),
        ("room", "The room is already taken at that time."),
        ("client", "The client already has an appointment at that time."),
    ],
)
def test_overlap_is_refused_by_validation_and_by_the_database(overlap, message):
    spa = open_spa(therapists=2, rooms=2)
    first = make(spa)
    shared = {
        "therapist": {"therapist": first.therapist, "room": spa.rooms[1]},
        "room": {"therapist": spa.therapists[1], "room": first.room},
        "client": {
            "therapist": spa.therapists[1],
            "room": spa.rooms[1],
            "client": first.client,
        },
    }[overlap]
    # Starts inside the first one's buffer (11:00-11:15).
    second = make(spa, start=at(TOMORROW, 11), save=False, **shared)

    with pytest.raises(ValidationError, match=message):
        second.validate_constraints()
    constraint = f"appointments_appointment_no_{overlap}_overlap"
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        raw_insert(second)


def test_back_to_back_after_the_buffer_is_allowed():
    spa = open_spa()
    make(spa)

    after = make(spa, start=at(TOMORROW, 11, 15), save=False)

    after.validate_constraints()
    raw_insert(after)


def test_cancelled_appointments_do_not_block_time():
    spa = open_spa()
    make(spa, status="cancelled")

    make(spa)  # same therapist, room and time

    assert Appointment.objects.count() == 2


def test_cancelling_back_into_an_overlap_is_refused():
    spa = open_spa()
    cancelled = make(spa, status="cancelled")
    make(spa)

    with pytest.raises(IntegrityError, match="no_therapist_overlap"), transaction.atomic():
        Appointment.objects.filter(pk=cancelled.pk).update(status="confirmed", cancelled_at=None)


@pytest.mark.parametrize(
    ("changes", "constraint", "message"),
    [
        (
            {"ends_at": at(TOMORROW, 10)},
            "appointments_appointment_ends_after_start",
            "must end after it starts",
        ),
        (
            {"blocked_until": at(TOMORROW, 10, 30)},
            "appointments_appointment_blocked_until_after_end",
            "cannot end before the appointment",
        ),
        (
            {"status": "lost"},
            "appointments_appointment_known_status",
            "Unknown appointment status",
        ),
        (
            {"status": "cancelled"},
            "appointments_appointment_cancelled_at_with_status",
            "records when it was cancelled",
        ),
    ],
)
def test_checks_are_refused_by_validation_and_by_the_database(changes, constraint, message):
    spa = open_spa()
    appointment = make(spa, save=False)
    for field, value in changes.items():
        setattr(appointment, field, value)

    with pytest.raises(ValidationError, match=message):
        appointment.validate_constraints()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        raw_insert(appointment)


def test_overlap_across_midnight_in_utc_is_still_an_overlap():
    spa = open_spa()
    late = at(TOMORROW, 23, 30)
    make(spa, start=late)

    early = make(spa, start=late + datetime.timedelta(minutes=45), save=False)

    with pytest.raises(ValidationError):
        early.validate_constraints()
