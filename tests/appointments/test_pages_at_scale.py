"""The client's and the therapist's pages cost the same queries however long the spa's
history (issue 14: at a chain's size "My appointments" listed a regular's 300 past visits),
and "My appointments" shows the past a page at a time."""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments import waitlist
from appointments.models import Appointment, WaitlistOffer
from appointments.services import book_appointment
from clients.views import MY_DATA_NEWEST
from tests.factories import ClientFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DAY = datetime.timedelta(days=1)


@pytest.fixture
def spa():
    return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


def add_history(spa, client, visits: int) -> None:
    """`visits` more past appointments, one a day going back from the oldest so far: the
    client's with the first therapist, and another client's with the second."""
    oldest = Appointment.objects.order_by("starts_at").values_list("starts_at", flat=True)
    before = min(oldest.first() or NOW, NOW)
    first_day = before.date() - DAY
    other = ClientFactory()
    past = []
    for n in range(visits):
        start = at(first_day - n * DAY, 10)
        for who, therapist, room in (
            (client, spa.therapists[0], spa.rooms[0]),
            (other, spa.therapists[1], spa.rooms[1]),
        ):
            past.append(
                Appointment(
                    client=who,
                    therapist=therapist,
                    room=room,
                    treatment=spa.treatment,
                    starts_at=start,
                    ends_at=start + spa.treatment.duration,
                    blocked_until=start + spa.treatment.duration + spa.treatment.buffer,
                    status=Appointment.Status.COMPLETED,
                    created_at=start - 7 * DAY,
                )
            )
    Appointment.objects.bulk_create(past)


def count_queries(http: HttpClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert http.get(url).status_code == 200
    return len(queries)


def test_the_pages_cost_the_same_queries_when_the_history_doubles(spa, ana, logged_in):
    screen(ana)
    upcoming = book_appointment(
        client=ana,
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=spa.therapist,
        health_unchanged=True,
    )
    entry = waitlist.join_waitlist(
        client=ana, treatment=spa.treatment, first_day=TOMORROW, last_day=TOMORROW
    )
    offer = WaitlistOffer.objects.create(
        entry=entry,
        starts_at=at(TOMORROW, 14),
        created_at=NOW - 2 * datetime.timedelta(hours=1),
        expires_at=NOW - datetime.timedelta(hours=1),  # expired: the page shows the day's times
    )
    therapist = force_login_verified(HttpClient(), spa.therapist.user)
    client_pages = [
        reverse("appointments:mine"),
        reverse("appointments:mine") + "?page=2",
        reverse("appointments:treatment", args=[spa.treatment.slug]),
        reverse("appointments:day", args=[spa.treatment.slug, TOMORROW]),
        reverse("appointments:detail", args=[upcoming.pk]),
        reverse("appointments:reschedule", args=[upcoming.pk]) + f"?date={TOMORROW}",
        reverse("appointments:waitlist_offer", args=[offer.token]),
    ]
    therapist_pages = [
        reverse("schedule:day") + f"?date={TOMORROW}",
        reverse("schedule:week"),
        reverse("schedule:appointment", args=[upcoming.pk]),
    ]
    add_history(spa, ana, 25)  # past appointments on two pages
    screen(ana)  # and a second screening
    before = [count_queries(logged_in, url) for url in client_pages] + [
        count_queries(therapist, url) for url in therapist_pages
    ]

    add_history(spa, ana, 25)
    screen(ana)

    after = [count_queries(logged_in, url) for url in client_pages] + [
        count_queries(therapist, url) for url in therapist_pages
    ]
    assert after == before
    assert max(before) <= 15


def past_links(html: str) -> list[str]:
    past = html.split('id="past-title"')[1]
    return re.findall(r'href="(/appointments/\d+/)"', past)


def test_my_appointments_shows_upcoming_in_full_and_the_past_twenty_at_a_time(spa, ana, logged_in):
    screen(ana)
    upcoming = book_appointment(
        client=ana, treatment=spa.treatment, start=at(TOMORROW, 10), health_unchanged=True
    )
    add_history(spa, ana, 45)
    newest_first = list(
        Appointment.objects.filter(client=ana, starts_at__lt=NOW)
        .order_by("-starts_at")
        .values_list("pk", flat=True)
    )
    mine = reverse("appointments:mine")

    first = logged_in.get(mine).content.decode()
    second = logged_in.get(mine, {"page": 2}).content.decode()
    last = logged_in.get(mine, {"page": 3}).content.decode()

    assert reverse("appointments:detail", args=[upcoming.pk]) in first.split('id="past-title"')[0]
    shown = [past_links(page) for page in (first, second, last)]
    assert [len(links) for links in shown] == [20, 20, 5]
    assert sum(shown, []) == [f"/appointments/{pk}/" for pk in newest_first]
    # Each page says where it is and links to its neighbours, in words.
    assert "Page 1 of 3" in first and "Page 2 of 3" in second
    assert (
        'href="?page=2#past-title">Older<span class="visually-hidden"> past appointments' in first
    )
    assert "Newer" not in first
    assert 'href="?page=1#past-title">&larr; Newer' in second
    assert "Older" not in last


@pytest.mark.parametrize("page", ["0", "999", "last-but-one", ""])
def test_a_page_of_the_past_that_does_not_exist_shows_the_nearest_one(spa, ana, logged_in, page):
    add_history(spa, ana, 3)

    response = logged_in.get(reverse("appointments:mine"), {"page": page})

    assert response.status_code == 200
    assert len(past_links(response.content.decode())) == 3


def test_a_client_with_a_short_past_sees_no_pages(spa, ana, logged_in):
    add_history(spa, ana, 2)

    html = logged_in.get(reverse("appointments:mine")).content.decode()

    assert "Pages of past appointments" not in html


def test_my_data_shows_the_newest_of_a_long_past_and_the_file_holds_it_all(spa, ana, logged_in):
    add_history(spa, ana, MY_DATA_NEWEST + 5)
    page = reverse("clients:my_data")

    html = logged_in.get(page).content.decode()
    every = json.loads(logged_in.get(reverse("clients:my_data_download")).content)

    appointments = html.split('id="appointments-title"')[1].split("</section>")[0]
    assert appointments.count("<tr>") == 1 + MY_DATA_NEWEST  # the heading's row, and the newest
    assert f"These are your newest {MY_DATA_NEWEST} appointments." in appointments
    assert reverse("clients:my_data_download") in appointments
    assert len(every["appointments"]) == MY_DATA_NEWEST + 5
    assert "older" not in every
    # The newest on the page are the file's first.
    newest = every["appointments"][0]["starts_at"]
    assert datetime.datetime.fromisoformat(newest).strftime("%-d %b %Y") in appointments
    # The page costs the same queries when the history doubles.
    before = count_queries(logged_in, page)
    add_history(spa, ana, 2 * MY_DATA_NEWEST)
    assert count_queries(logged_in, page) == before


def test_a_short_past_is_all_on_my_data_page(spa, ana, logged_in):
    add_history(spa, ana, 3)

    html = logged_in.get(reverse("clients:my_data")).content.decode()

    assert "These are your newest" not in html and "newest of each list" not in html
