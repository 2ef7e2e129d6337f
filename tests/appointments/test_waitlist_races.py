"""First to book wins: two clients offered the same freed time confirm it at the same instant,
each on their own PostgreSQL connection (a forked process), through the confirm page.

Committed data (transaction=True): a rolled-back test transaction is invisible to the other
connections, so it could not show a race at all.
"""

import datetime
import re
import uuid
from functools import partial

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from appointments.forms import format_start
from appointments.models import Appointment, Treatment, WaitlistEntry
from appointments.services import BookingError, cancel_appointment
from tests.appointments.test_races import (
    READABLE_REFUSAL,
    overlapping_active_appointments,
    race_in_processes,
)
from tests.appointments.test_waitlist import (
    OFFER_LINK,
    fill_the_day,
    local,
    open_waitlist_spa,
    wait,
)
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices


def confirm(http: HttpClient, treatment: Treatment, start: datetime.datetime) -> Appointment:
    """Press "Confirm booking" on the confirm page the offer's link led to."""
    response = http.post(
        reverse("appointments:book", args=[treatment.slug]),
        {"start": format_start(start), "therapist": "any", "booking_token": str(uuid.uuid4())},
    )
    if response.status_code == 302:
        return Appointment.objects.get(pk=int(re.search(r"/(\d+)/booked/", response.url)[1]))
    # The loser is told the time was just taken, or (arriving after the winner's commit)
    # that it is not available, or to try again: each with the nearest free times.
    refusal = re.search(
        r"[^<>]*(just taken|not available|try again)[^<>]*", response.content.decode()
    )
    if response.status_code == 409 and refusal:
        raise BookingError(refusal[0].strip())
    raise AssertionError(f"{response.status_code}: {response.content.decode()[:500]}")


@pytest.mark.django_db(transaction=True)
def test_two_clients_offered_one_time_confirm_at_once_and_the_first_to_book_has_it():
    spa = open_waitlist_spa()
    day = timezone.localdate() + datetime.timedelta(days=3)
    start = local(day, 10)
    freed = fill_the_day(spa, day)
    people = [ClientFactory(), ClientFactory()]
    for person in people:
        wait(person, spa.swedish, day)
    cancel_appointment(appointment=freed)
    deliver_owed_notices()
    offers = [m for m in mail.outbox if m.subject.startswith("A time came free")]
    assert len(offers) == 2
    browsers = []
    for person in people:
        http = HttpClient()
        http.force_login(person.user)
        [email] = [m for m in offers if m.to == [person.user.email]]
        confirm_page = http.get(OFFER_LINK.search(email.body)[1], follow=True)
        assert "Confirm booking" in confirm_page.content.decode()
        browsers.append(http)

    outcomes = race_in_processes([partial(confirm, http, spa.swedish, start) for http in browsers])

    assert sorted(outcome.kind for outcome in outcomes) == ["booked", "refused"], outcomes
    [refusal] = [outcome.detail for outcome in outcomes if outcome.kind == "refused"]
    assert READABLE_REFUSAL.search(refusal)
    [appointment] = Appointment.objects.active().filter(starts_at=start)
    assert [outcome.detail for outcome in outcomes if outcome.kind == "booked"] == [appointment.pk]
    assert overlapping_active_appointments() == []
    winner = WaitlistEntry.objects.get(client=appointment.client)
    loser = WaitlistEntry.objects.exclude(pk=winner.pk).get()
    assert (winner.state, winner.appointment) == (WaitlistEntry.State.BOOKED, appointment)
    assert loser.state == WaitlistEntry.State.OFFERED  # still waits for the next time
    [loser_email] = [m for m in offers if m.to == [loser.client.user.email]]
    loser_http = browsers[people.index(loser.client)]
    taken = loser_http.get(OFFER_LINK.search(loser_email.body)[1])
    assert "this time has been booked by someone else" in taken.content.decode()
