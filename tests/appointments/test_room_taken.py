"""Another therapist's booking takes the room at the same moment: the booking looks again.

Between a booking's look at the free times and its room lock, a booking of another
therapist can take that room and commit. The exclusion constraint then refuses the
insert; if another suitable room is still free, the client gets it instead of "taken".

The rival booking runs on its own connection (a thread) and commits, so the tests use
committed data (transaction=True).
"""

import threading

import pytest
from django.db import connection

from appointments import services
from appointments.models import Appointment
from appointments.services import booking, locking
from tests.factories import ClientFactory
from tests.scheduling import TOMORROW, at, open_spa

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_clock")]


def book(client, spa, therapist):
    return services.book_appointment(
        client=client, treatment=spa.treatment, start=at(TOMORROW, 10), therapist=therapist
    )


def rival_takes_the_room_first(monkeypatch, spa) -> list[int]:
    """The first room lock waits until another therapist's booking of the same time
    (and, the rooms being alike, the same room) has committed."""
    contested: list[int] = []
    lock_room = locking.lock_room

    def rival_first(room_id: int) -> None:
        if not contested:
            contested.append(room_id)
            thread = threading.Thread(target=rival_booking, args=(spa,))
            thread.start()
            thread.join()
        lock_room(room_id)

    monkeypatch.setattr(locking, "lock_room", rival_first)
    return contested


def rival_booking(spa) -> None:
    try:
        book(ClientFactory(), spa, spa.therapists[1])
    finally:
        connection.close()  # the thread's own connection


def test_the_client_gets_another_free_room_instead_of_taken(monkeypatch):
    spa = open_spa(therapists=2, rooms=2)
    contested = rival_takes_the_room_first(monkeypatch, spa)

    appointment = book(ClientFactory(), spa, spa.therapists[0])

    rival = Appointment.objects.get(therapist=spa.therapists[1])
    assert rival.room_id == contested[0]
    assert appointment.therapist == spa.therapists[0]
    assert appointment.room_id != rival.room_id
    assert Appointment.objects.count() == 2


def test_with_no_other_room_the_client_is_told_it_was_just_taken(monkeypatch):
    spa = open_spa(therapists=2, rooms=1)
    rival_takes_the_room_first(monkeypatch, spa)

    with pytest.raises(services.BookingError, match="just taken"):
        book(ClientFactory(), spa, spa.therapists[0])

    assert Appointment.objects.count() == 1  # the rival's


def test_any_available_therapist_with_no_other_room_is_told_it_was_just_taken(monkeypatch):
    spa = open_spa(therapists=2, rooms=1)
    rival_takes_the_room_first(monkeypatch, spa)
    # Of two equally free therapists the booking picks one at random; here it must be the
    # one the rival does not want, or the rival would wait for our therapist lock.
    monkeypatch.setattr(booking.random, "choice", lambda slots: min(slots))

    with pytest.raises(services.BookingError, match="just taken"):
        book(ClientFactory(), spa, None)

    assert Appointment.objects.count() == 1
