"""Nobody is turned away while a seat is free, shown with real concurrent connections.

Where test_races.py shows that two bookings never get one time, these show the other
half: when the first choice goes to someone else at the same moment, the booking (or
the move) takes the next free therapist or room instead of saying "taken".
"""

import datetime
from functools import partial

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Appointment
from tests.appointments.test_races import (
    ROUNDS,
    free_starts,
    overlapping_active_appointments,
    race_in_processes,
)
from tests.scheduling import open_spa_around_the_clock

FREE_THERAPISTS = 8


@pytest.mark.django_db(transaction=True)
def test_as_many_any_therapist_clients_as_free_therapists_all_book():
    spa = open_spa_around_the_clock(
        therapists=FREE_THERAPISTS, clients=FREE_THERAPISTS, equipped_rooms=FREE_THERAPISTS
    )

    for start in free_starts(spa, rounds=ROUNDS):
        outcomes = race_in_processes(
            [
                partial(
                    services.book_appointment,
                    client=client,
                    treatment=spa.treatment,
                    start=start,
                    therapist=None,  # any available therapist
                )
                for client in spa.clients
            ]
        )

        assert [o for o in outcomes if o.kind != "booked"] == []
        booked = Appointment.objects.filter(starts_at=start)
        assert booked.count() == FREE_THERAPISTS
        assert len({appointment.therapist_id for appointment in booked}) == FREE_THERAPISTS
    assert overlapping_active_appointments() == []


@pytest.mark.django_db(transaction=True)
def test_a_move_racing_a_booking_for_the_same_room_takes_the_other_free_room():
    # Two rooms with the equipment: the move and the booking both look first at the same one.
    spa = open_spa_around_the_clock(therapists=2, clients=2, equipped_rooms=2, plain_rooms=1)
    mover, booker = spa.clients
    moving_therapist, booking_therapist = spa.therapists

    for start in free_starts(spa, rounds=ROUNDS):
        earlier = start - datetime.timedelta(hours=3)
        appointment = services.book_appointment(
            client=mover, treatment=spa.treatment, start=earlier, therapist=moving_therapist
        )

        outcomes = race_in_processes(
            [
                partial(
                    services.reschedule_appointment,
                    appointment=appointment,
                    start=start,
                    therapist=moving_therapist,
                    by_staff=True,
                ),
                partial(
                    services.book_appointment,
                    client=booker,
                    treatment=spa.treatment,
                    start=start,
                    therapist=booking_therapist,
                ),
            ]
        )

        assert [o for o in outcomes if o.kind != "booked"] == []
        at_start = Appointment.objects.filter(starts_at=start).exclude(status="cancelled")
        assert {a.room_id for a in at_start} == {room.pk for room in spa.rooms}
        appointment.refresh_from_db()
        assert appointment.starts_at == start
    assert overlapping_active_appointments() == []


@pytest.mark.django_db
def test_a_refusal_never_offers_the_time_it_refused():
    spa = open_spa_around_the_clock(therapists=1, clients=2, equipped_rooms=1)
    [start] = free_starts(spa, rounds=1)
    services.book_appointment(
        client=spa.clients[0], treatment=spa.treatment, start=start, therapist=None
    )

    with pytest.raises(services.BookingError) as refusal:
        services.book_appointment(
            client=spa.clients[1], treatment=spa.treatment, start=start, therapist=None
        )

    offered = [slot.start for slot in refusal.value.alternatives]
    assert offered
    assert start not in offered
    assert all(slot > timezone.now() for slot in offered)
