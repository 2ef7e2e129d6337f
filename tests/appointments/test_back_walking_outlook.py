"""Before picking a time, a client sees where they stand for back-walking.

The treatment page and its day pages explain the age check and the screening early and
offer no day the client cannot have; the booking services still judge every booking.
"""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from screening.eligibility import back_walking_outlook, back_walking_verdict
from tests.scheduling import TOMORROW, open_spa
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

D = datetime.date
TODAY = D(2026, 12, 1)  # NOW's date in London
RULE = (
    "Back-walking is for adults: you must be 18 or over both on the day you book and on the "
    "day of your appointment, and fill in a short health screening."
)
# A fracture on 31 October 2026: back-walking waits 12 weeks, until Saturday 23 January 2027.
FRACTURE_ON = D(2026, 10, 31)
HEALED = D(2027, 1, 23)


@pytest.fixture
def spa():
    return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


def page(http, spa, **query) -> str:
    response = http.get(reverse("appointments:treatment", args=[spa.treatment.slug]), query)
    assert response.status_code == 200
    return response.content.decode()


def day_page(http, spa, day) -> str:
    response = http.get(reverse("appointments:day", args=[spa.treatment.slug, day]))
    assert response.status_code == 200
    return response.content.decode()


def linked_days(html: str, spa) -> list[datetime.date]:
    """The days the page links to a day's times (by their URL)."""
    prefix = re.escape(reverse("appointments:treatment", args=[spa.treatment.slug]))
    return sorted(
        {D.fromisoformat(day) for day in re.findall(prefix + r"(\d{4}-\d{2}-\d{2})/", html)}
    )


def time_links(html: str, spa) -> list[str]:
    return re.findall(re.escape(reverse("appointments:book", args=[spa.treatment.slug])), html)


def logged_in(client, person):
    client.force_login(person.user)
    return client


# Age


def test_17_year_old_is_told_from_when_and_the_calendar_offers_no_day(client, spa, theo):
    html = page(logged_in(client, theo), spa)

    assert (
        "You can book back-walking from 10 December 2026, your 18th birthday. Until then you "
        "are welcome to book our other treatments." in html
    )
    assert reverse("appointments:treatments") in html
    assert linked_days(html, spa) == []
    # Not even on the weeks after the birthday: they must be 18 on the day they book.
    assert linked_days(page(client, spa, **{"from": "2026-12-14"}), spa) == []


@pytest.mark.parametrize("day", [TOMORROW, D(2026, 12, 15)])  # before and after the birthday
def test_17_year_old_day_page_shows_no_times(client, spa, theo, day):
    html = day_page(logged_in(client, theo), spa, day)

    assert "your 18th birthday" in html
    assert time_links(html, spa) == []


def test_17_year_old_still_sees_other_treatments_days(client, theo):
    swedish = open_spa(name="Swedish massage")

    html = page(logged_in(client, theo), swedish)

    assert TOMORROW in linked_days(html, swedish)
    assert "18th birthday" not in html
    assert "Back-walking is for adults" not in html
    assert time_links(day_page(client, swedish, TOMORROW), swedish)


# Screening


def test_recent_fracture_shows_the_first_day_and_the_calendar_starts_there(client, spa, ana):
    screen(ana, fracture_on=FRACTURE_ON)

    html = page(logged_in(client, ana), spa)

    assert (
        "After your recent injury or surgery you can book back-walking from Saturday "
        "23 January 2027." in html
    )
    days = linked_days(html, spa)
    assert days[0] == HEALED
    # The calendar opens on the week of that day; the days before it are not links.
    assert "Monday 18 January: not bookable online" in html
    # The first weeks, asked for on purpose, offer nothing.
    assert linked_days(page(client, spa, **{"from": "2026-12-01"}), spa) == []


def test_recent_fracture_day_page_before_the_first_day_has_no_times(client, spa, ana):
    screen(ana, fracture_on=FRACTURE_ON)
    http = logged_in(client, ana)

    before = day_page(http, spa, HEALED - datetime.timedelta(days=1))
    on_the_day = day_page(http, spa, HEALED)

    assert "you can book back-walking from Saturday 23 January 2027" in before
    assert time_links(before, spa) == []
    # No way further back, to days they cannot have either.
    earlier = HEALED - datetime.timedelta(days=2)
    assert reverse("appointments:day", args=[spa.treatment.slug, earlier]) not in before
    assert f"?from={HEALED.isoformat()}" in before  # the way to the first days they can have
    assert time_links(on_the_day, spa)


def test_not_eligible_client_sees_the_verdicts_message_and_no_day(client, spa, ana):
    screen(ana, pregnant=True)
    verdict = back_walking_verdict(client=ana, day=TODAY)
    assert not verdict.allowed  # the premise: this screening rules back-walking out

    html = page(logged_in(client, ana), spa)

    assert escape(verdict.message) in html
    assert linked_days(html, spa) == []
    day = day_page(client, spa, TOMORROW)
    assert escape(verdict.message) in day
    assert time_links(day, spa) == []


def test_client_without_a_screening_sees_the_normal_calendar(client, spa, ana):
    html = page(logged_in(client, ana), spa)

    assert linked_days(html, spa)[0] == TODAY
    assert 'class="alert' not in html
    assert RULE in html


def test_guest_sees_the_normal_calendar_and_the_rule(client, spa):
    html = page(client, spa)

    assert linked_days(html, spa)[0] == TODAY
    assert RULE in html
    assert html.count("Back-walking is for adults") == 1


def test_cleared_client_sees_the_normal_calendar(client, spa, ana):
    screen(ana)

    html = page(logged_in(client, ana), spa)

    assert linked_days(html, spa)[0] == TODAY
    assert 'class="alert' not in html


# The outlook itself


def test_outlook_of_an_expired_screening_leaves_it_to_the_confirm_step(ana):
    with time_machine.travel(datetime.datetime(2025, 11, 1, 9, tzinfo=datetime.UTC)):
        screen(ana, fracture_on=D(2025, 10, 1))

    outlook = back_walking_outlook(client=ana, today=TODAY)

    assert outlook.bookable
    assert outlook.first_day is None
    assert outlook.message == ""


def test_outlook_of_a_wait_on_the_first_day_itself_has_no_limit(ana):
    screen(ana, fracture_on=FRACTURE_ON)

    outlook = back_walking_outlook(client=ana, today=HEALED)

    assert outlook.bookable
    assert outlook.first_day is None
    assert outlook.message == ""


def test_outlook_of_a_leap_day_birthday_is_1_march(ana):
    ana.date_of_birth = D(2008, 2, 29)

    outlook = back_walking_outlook(client=ana, today=D(2026, 2, 28))

    assert not outlook.bookable
    assert outlook.first_day == D(2026, 3, 1)
    assert "from 1 March 2026, your 18th birthday" in outlook.message


def test_outlook_costs_at_most_one_query(ana, django_assert_max_num_queries):
    screen(ana, fracture_on=FRACTURE_ON)

    with django_assert_max_num_queries(1):
        back_walking_outlook(client=ana, today=TODAY)


def test_the_outlook_adds_at_most_one_query_to_the_calendar(client, spa, ana):
    swedish = open_spa(name="Swedish massage", therapists=2, rooms=2)
    screen(ana, fracture_on=FRACTURE_ON)
    http = logged_in(client, ana)

    def queries(treatment_spa) -> int:
        url = reverse("appointments:treatment", args=[treatment_spa.treatment.slug])
        with CaptureQueriesContext(connection) as context:
            http.get(url, {"from": "2027-01-18"})
        return len(context.captured_queries)

    assert queries(spa) <= queries(swedish) + 1
