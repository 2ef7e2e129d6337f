"""'My schedule': a therapist's day, week, appointments, visit outcomes and calendar feed."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar, Event

from appointments.models import (
    Appointment,
    PreSessionCheck,
    Qualification,
    Therapist,
    TimeOff,
    Treatment,
    WorkingHours,
)
from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from screening import rules
from screening.models import HealthScreening
from screening.services import approve_screening
from tests.factories import PASSWORD, ClientFactory, EquipmentFactory, TreatmentFactory
from tests.scheduling import NOW, TOMORROW, Spa, at, open_spa
from tests.screenings import screen
from tests.two_factor import authenticator_app, current_code, force_login_verified

# One login serves a therapist for days of travelled time here; the session limits
# have their own tests (tests/clients/test_staff_sessions.py).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "unlimited_staff_sessions"),
]

LONDON = ZoneInfo("Europe/London")
IN_A_WEEK = datetime.date(2026, 12, 8)

DAY = reverse("schedule:day")
WEEK = reverse("schedule:week")
CALENDAR = reverse("schedule:calendar")
REPLACE_FEED = reverse("schedule:replace_feed")
LOGIN = reverse("clients:login")


@pytest.fixture
def spa() -> Spa:
    """Swedish massage with two therapists (both working 09:00-17:00 every day), two rooms."""
    return open_spa(therapists=2, rooms=2, name="Swedish massage")


@pytest.fixture
def ashiatsu(spa) -> Treatment:
    """The back-walking treatment, given by both therapists in both rooms (they have bars)."""
    treatment = TreatmentFactory(name="Ashiatsu", is_back_walking=True)
    treatment.equipment.add(EquipmentFactory(name="Overhead bars"))
    for therapist in spa.therapists:
        Qualification.objects.create(therapist=therapist, treatment=treatment)
    return treatment


@pytest.fixture
def me(spa) -> Therapist:
    return spa.therapists[0]


@pytest.fixture
def colleague(spa) -> Therapist:
    return spa.therapists[1]


@pytest.fixture
def my_http(me) -> HttpClient:
    return force_login_verified(HttpClient(), me.user)


@pytest.fixture
def ana():
    """Ana under the surname the schedule's tests look her up by; the conftest Ana is
    "Ana Example"."""
    return ClientFactory(full_name="Ana Lindqvist", user__email="ana@example.com")


def book(
    client,
    treatment: Treatment,
    start: datetime.datetime,
    therapist: Therapist | None = None,
    now: datetime.datetime | None = None,
) -> Appointment:
    return book_appointment(
        client=client,
        treatment=treatment,
        start=start,
        therapist=therapist,
        health_unchanged=treatment.is_back_walking,
        now=now,
    )


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def appointment_url(appointment: Appointment, action: str = "appointment") -> str:
    return reverse(f"schedule:{action}", args=[appointment.pk])


def schedule_item(html: str, text: str) -> str:
    """The one appointment in a day or week page that mentions `text`."""
    items = re.findall(r'<li class="list-group-item schedule-item[^"]*">.*?</li>', html, re.S)
    matching = [item for item in items if text in item]
    assert len(matching) == 1, f"{len(matching)} schedule items mention {text!r}"
    return matching[0]


def get_html(http: HttpClient, url: str, params: dict | None = None) -> str:
    response = http.get(url, params or {})
    assert response.status_code == 200
    return response.content.decode()


# Query-count guards: a busy week costs the same queries as a quiet one.


def count_queries(http: HttpClient, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert http.get(url, params or {}).status_code == 200
    return len(queries)


def busy_slot(n: int) -> datetime.datetime:
    """The n-th of 12 back-to-back 75-minute blocks a day, 07:00-22:00, from Wednesday."""
    day = TOMORROW + datetime.timedelta(days=n // 12)
    return at(day, 7) + datetime.timedelta(minutes=75 * (n % 12))


def book_busy_slot(n: int, spa: Spa, ashiatsu: Treatment, therapist: Therapist) -> Appointment:
    """Every other appointment back-walking, each for its own (screened) client."""
    client = ClientFactory()
    if n % 2 == 0:
        screen(client, areas_to_avoid="left shoulder")
        return book(client, ashiatsu, busy_slot(n), therapist)
    return book(client, spa.treatment, busy_slot(n), therapist)


def test_week_day_and_appointment_pages_cost_the_same_queries_with_40_appointments(
    spa, ashiatsu, me, my_http
):
    # A long working day, so 40 appointments fit in one week (Wednesday to Saturday).
    WorkingHours.objects.filter(therapist=me).update(
        starts_at=datetime.time(7), ends_at=datetime.time(22)
    )
    TimeOff.objects.create(
        therapist=me, starts_at=at(TOMORROW, 22), ends_at=at(TOMORROW, 23), reason="Course"
    )
    first = book_busy_slot(0, spa, ashiatsu, me)
    pages = [
        (WEEK, {"date": TOMORROW.isoformat()}),
        (DAY, {"date": TOMORROW.isoformat()}),
        (appointment_url(first), None),
        (reverse("schedule:feed", args=[me.feed_token]), None),
    ]
    count_queries(my_http, DAY)  # the session and the user, loaded once for every page
    before = [count_queries(my_http, url, params) for url, params in pages]

    busy = [first] + [book_busy_slot(n, spa, ashiatsu, me) for n in range(1, 40)]
    cancel_appointment(appointment=busy[-1], by_staff=True)
    after = [count_queries(my_http, url, params) for url, params in pages]

    week_html = get_html(my_http, WEEK, {"date": TOMORROW.isoformat()})
    assert Appointment.objects.filter(therapist=me).count() == 40
    assert week_html.count('class="list-group-item schedule-item') == 40
    assert after == before


# Who sees what


def test_therapist_sees_only_their_own_appointments(spa, me, colleague, my_http):
    mine = book(ClientFactory(full_name="Mia Mine"), spa.treatment, at(TOMORROW, 10), me)
    book(ClientFactory(full_name="Otto Other"), spa.treatment, at(TOMORROW, 10), colleague)

    for url in (DAY, WEEK):
        html = get_html(my_http, url, {"date": TOMORROW.isoformat()})
        assert "Mia Mine" in html
        assert "Otto Other" not in html
    assert "Mia Mine" in get_html(my_http, appointment_url(mine))


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("appointment", None),
        ("check", {"outcome": "done"}),
        ("check", {"outcome": "stopped", "reason": "Not my client"}),
        ("complete", {}),
        ("no_show", {}),
    ],
)
def test_another_therapists_appointment_is_a_404_and_its_actions_change_nothing(
    spa, ashiatsu, colleague, my_http, ana, action, data
):
    screening = screen(ana)
    theirs = book(ana, ashiatsu, at(TOMORROW, 10), colleague)

    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        url = appointment_url(theirs, action)
        response = my_http.get(url) if data is None else my_http.post(url, data)

    assert response.status_code == 404
    theirs.refresh_from_db()
    screening.refresh_from_db()
    assert theirs.status == Appointment.Status.CONFIRMED
    assert not theirs.needs_follow_up
    assert not PreSessionCheck.objects.exists()
    assert screening.review == HealthScreening.Review.NOT_NEEDED


def test_client_finds_no_therapist_pages(spa, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10))
    http = HttpClient()
    http.force_login(ana.user)

    for url in (DAY, WEEK, CALENDAR, appointment_url(appointment)):
        assert http.get(url).status_code == 404, url
    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        assert http.post(appointment_url(appointment, "complete")).status_code == 404
    assert http.post(REPLACE_FEED).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_anonymous_visitor_is_sent_to_log_in(client, spa, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10))

    for url in (DAY, WEEK, CALENDAR, appointment_url(appointment)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{LOGIN}?next=")
    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        response = client.post(appointment_url(appointment, "complete"))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


def test_staff_see_every_appointment_in_the_admin(staff_http, spa, me, colleague):
    book(ClientFactory(full_name="Mia Mine"), spa.treatment, at(TOMORROW, 10), me)
    book(ClientFactory(full_name="Otto Other"), spa.treatment, at(TOMORROW, 10), colleague)

    response = staff_http.get(reverse("admin:appointments_appointment_changelist"))

    assert response.status_code == 200
    assert "Mia Mine" in response.content.decode()
    assert "Otto Other" in response.content.decode()


def test_therapist_logging_in_lands_on_my_schedule(client, me):
    app = authenticator_app(me.user)
    response = client.post(
        LOGIN, {"username": me.user.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    code_page = get_html(client, response.url)
    response = client.post(response.url, {"code": current_code(app)})

    assert "Your sign-in code" in code_page
    assert response.status_code == 302
    assert response.url == DAY
    assert "No appointments on this day." in get_html(client, response.url)


@pytest.mark.parametrize(
    ("role", "shown"),
    [("therapist", True), ("client", False), ("staff", False), ("guest", False)],
)
def test_nav_shows_my_schedule_to_therapists_only(client, me, ana, staff_user, role, shown):
    users = {"therapist": me.user, "client": ana.user, "staff": staff_user}
    if role in users:
        force_login_verified(client, users[role])

    html = get_html(client, reverse("home"))

    assert (f'href="{DAY}">My schedule</a>' in html) is shown


# What the day and week show


def test_day_and_week_show_time_treatment_room_client_and_status(spa, me, my_http, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    for url in (DAY, WEEK):
        item = schedule_item(
            get_html(my_http, url, {"date": TOMORROW.isoformat()}), "Ana Lindqvist"
        )
        assert "10:00–11:00 Ana Lindqvist" in item
        assert f"Swedish massage · {appointment.room.name}" in item
        assert "Confirmed" in item


def test_first_visit_is_marked_only_for_a_clients_first_appointment(spa, me, my_http, ana):
    returning = ClientFactory(full_name="Rita Returning")
    book(returning, spa.treatment, at(datetime.date(2026, 11, 24), 10), now=NOW - _days(11))
    book(returning, spa.treatment, at(TOMORROW, 12), me)
    first = book(ana, spa.treatment, at(TOMORROW, 10), me)

    for url in (DAY, WEEK):
        html = get_html(my_http, url, {"date": TOMORROW.isoformat()})
        assert "First visit" in schedule_item(html, "Ana Lindqvist")
        assert "First visit" not in schedule_item(html, "Rita Returning")
    assert "First visit" in get_html(my_http, appointment_url(first))


def test_day_shows_its_working_hours_and_time_off(spa, me, my_http):
    WorkingHours.objects.create(
        therapist=me,
        weekday=TOMORROW.weekday(),
        starts_at=datetime.time(18),
        ends_at=datetime.time(20),
    )
    TimeOff.objects.create(
        therapist=me, starts_at=at(TOMORROW, 12), ends_at=at(TOMORROW, 13), reason="Dentist"
    )

    for url in (DAY, WEEK):
        html = get_html(my_http, url, {"date": TOMORROW.isoformat()})
        assert "Working 09:00–17:00, 18:00–20:00" in html
        assert "Time off 12:00–2 Dec 13:00: Dentist" in html
    the_day_after = get_html(my_http, DAY, {"date": "2026-12-03"})
    assert "Working 09:00–17:00" in the_day_after
    assert "Dentist" not in the_day_after


def test_cancelled_appointments_are_shown_apart(spa, me, my_http, ana):
    cancelled = book(ana, spa.treatment, at(TOMORROW, 10), me)
    cancel_appointment(appointment=cancelled, by_staff=True)
    book(ClientFactory(full_name="Cora Coming"), spa.treatment, at(TOMORROW, 10), me)

    for url in (DAY, WEEK):
        html = get_html(my_http, url, {"date": TOMORROW.isoformat()})
        gone = schedule_item(html, "Ana Lindqvist")
        assert "appointment-cancelled" in gone
        assert "Cancelled" in gone
        assert "appointment-cancelled" not in schedule_item(html, "Cora Coming")


def test_back_walking_shows_the_screening_summary_but_never_the_answers(
    spa, ashiatsu, me, my_http, ana, staff_user
):
    screening = screen(
        ana,
        other_conditions="Sciatica since May",
        back_pain_under_care=True,
        areas_to_avoid="left shoulder",
    )
    appointment = book(ana, ashiatsu, at(IN_A_WEEK, 10), me)
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    held = get_html(my_http, DAY, {"date": IN_A_WEEK.isoformat()})
    assert "waiting for staff review" in schedule_item(held, "Ana Lindqvist")
    approve_screening(
        screening=screening,
        by=staff_user,
        note="GP letter seen, staff only",
        therapist_note="Avoid lower back",
    )

    pages = [
        get_html(my_http, DAY, {"date": IN_A_WEEK.isoformat()}),
        get_html(my_http, WEEK, {"date": IN_A_WEEK.isoformat()}),
        get_html(my_http, appointment_url(appointment)),
    ]
    for html in pages:
        assert "approved by staff" in html
        assert "Avoid lower back" in html
        assert "Prefers medium pressure" in html
        assert "Avoid: left shoulder" in html
        assert "Sciatica" not in html
        assert "Disc" not in html
        assert "GP letter" not in html


def test_back_walking_shows_the_clients_newest_screening(spa, ashiatsu, me, my_http, ana):
    screen(ana, areas_to_avoid="left shoulder")
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)
    screen(ana, areas_to_avoid="right knee, new since the booking")

    html = get_html(my_http, appointment_url(appointment))

    assert "Avoid: right knee, new since the booking" in html


def test_day_and_week_link_to_the_previous_next_and_current_period(me, my_http):
    day = get_html(my_http, DAY, {"date": "2026-12-09"})
    assert 'href="?date=2026-12-08"' in day
    assert 'href="?date=2026-12-10"' in day
    assert 'href="?date=2026-12-01">Today</a>' in day
    assert f'href="{WEEK}?date=2026-12-09">Week view</a>' in day

    week = get_html(my_http, WEEK, {"date": "2026-12-09"})  # a Wednesday: the week of Monday 7th
    assert "Week of 7 December 2026" in week
    assert 'href="?date=2026-11-30">&larr; Previous week</a>' in week
    assert 'href="?date=2026-12-14">Next week &rarr;</a>' in week
    assert 'href="?date=2026-12-01">Today</a>' in week
    assert f'href="{DAY}?date=2026-12-13">Sunday 13 December</a>' in week


def test_day_without_a_date_is_today(me, my_http):
    html = get_html(my_http, DAY)

    assert "Tuesday 1 December 2026" in html
    assert "Today</span>" in html


@pytest.mark.parametrize(
    ("url", "date"), [(DAY, "9999-12-31"), (DAY, "0001-01-01"), (WEEK, "0001-01-03")]
)
def test_a_date_at_the_edge_of_the_calendar_is_not_a_server_error(me, url, date):
    http = force_login_verified(HttpClient(raise_request_exception=False), me.user)

    response = http.get(url, {"date": date})

    assert response.status_code in (200, 404)


@pytest.mark.parametrize(
    ("day", "booked_on", "utc_hour"),
    [
        # Clocks go forward at 01:00 UTC: 10:00 in London is 09:00 UTC.
        (datetime.date(2026, 3, 29), datetime.datetime(2026, 3, 27, 8, tzinfo=datetime.UTC), 9),
        # Clocks go back at 01:00 UTC: 10:00 in London is 10:00 UTC again.
        (datetime.date(2026, 10, 25), datetime.datetime(2026, 10, 23, 8, tzinfo=datetime.UTC), 10),
    ],
)
def test_daylight_saving_day_shows_local_times(spa, me, my_http, ana, day, booked_on, utc_hour):
    with time_machine.travel(booked_on, tick=False):
        start = datetime.datetime.combine(day, datetime.time(10), tzinfo=LONDON)
        appointment = book(ana, spa.treatment, start, me)
        assert appointment.starts_at == datetime.datetime.combine(
            day, datetime.time(utc_hour), tzinfo=datetime.UTC
        )

        html = get_html(my_http, DAY, {"date": day.isoformat()})
        week = get_html(my_http, WEEK, {"date": day.isoformat()})
        the_day_before = get_html(my_http, DAY, {"date": (day - _days(1)).isoformat()})

    assert "10:00–11:00 Ana Lindqvist" in schedule_item(html, "Ana Lindqvist")
    assert "10:00–11:00 Ana Lindqvist" in schedule_item(week, "Ana Lindqvist")
    assert "Ana Lindqvist" not in the_day_before


# Completed, no-show and the pre-session check


def post(http: HttpClient, appointment: Appointment, action: str, data=None) -> str:
    """POST an action and follow the redirect back to the appointment; the page's text."""
    response = http.post(appointment_url(appointment, action), data or {}, follow=True)
    assert response.redirect_chain == [(appointment_url(appointment), 302)]
    return response.content.decode()


@pytest.mark.parametrize(("action", "what"), [("complete", "completed"), ("no_show", "a no-show")])
def test_before_the_start_completed_and_no_show_are_refused(spa, me, my_http, ana, action, what):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 9, 59), tick=False):
        html = post(my_http, appointment, action)

    assert f"It can be marked {what} once it has started, at 10:00." in html
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED


@pytest.mark.parametrize(
    ("action", "message", "status"),
    [
        ("complete", "Marked as completed.", Appointment.Status.COMPLETED),
        ("no_show", "Marked as a no-show.", Appointment.Status.NO_SHOW),
    ],
)
def test_from_the_start_it_can_be_marked_completed_or_a_no_show(
    spa, me, my_http, ana, action, message, status
):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 10), tick=False):
        html = post(my_http, appointment, action)

    assert message in html
    appointment.refresh_from_db()
    assert appointment.status == status


def test_the_buttons_appear_once_the_appointment_has_started(spa, me, my_http, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    before = get_html(my_http, appointment_url(appointment))
    with time_machine.travel(at(TOMORROW, 10), tick=False):
        started = get_html(my_http, appointment_url(appointment))

    assert "Mark completed" not in before
    assert "once it has started" in before
    assert "Mark completed" in started
    assert "Mark no-show" in started


def test_back_walking_is_completed_only_after_the_pre_session_check(
    spa, ashiatsu, me, my_http, ana
):
    screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        refused = post(my_http, appointment, "complete")
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CONFIRMED
        checked = post(my_http, appointment, "check", {"outcome": "done"})
        completed = post(my_http, appointment, "complete")

    assert "Record the pre-session check first" in refused
    assert "Check recorded." in checked
    assert "Marked as completed." in completed
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    check = PreSessionCheck.objects.get(appointment=appointment)
    assert check.outcome == PreSessionCheck.Outcome.DONE
    assert check.recorded_by == me.user


def test_pre_session_check_opens_an_hour_before_the_start(spa, ashiatsu, me, my_http, ana):
    screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 8, 59), tick=False):
        too_early = post(my_http, appointment, "check", {"outcome": "done"})
    assert "The check is done with the client, just before the session." in too_early
    assert "from an hour before the session" in too_early
    assert not PreSessionCheck.objects.exists()

    with time_machine.travel(at(TOMORROW, 9), tick=False):
        assert "Nothing has changed: check done" in get_html(my_http, appointment_url(appointment))
        on_time = post(my_http, appointment, "check", {"outcome": "done"})
    assert "Check recorded." in on_time
    assert PreSessionCheck.objects.get().outcome == PreSessionCheck.Outcome.DONE


def test_only_back_walking_has_a_pre_session_check(spa, me, my_http, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 9, 30), tick=False):
        html = post(my_http, appointment, "check", {"outcome": "done"})

    assert "Only back-walking sessions have a pre-session check." in html
    assert not PreSessionCheck.objects.exists()


def test_stopping_the_session_needs_a_reason(spa, ashiatsu, me, my_http, ana):
    screening = screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        html = post(my_http, appointment, "check", {"outcome": "stopped", "reason": "   "})

    assert "Say why the session is stopped, so staff can follow up." in html
    assert not PreSessionCheck.objects.exists()
    appointment.refresh_from_db()
    screening.refresh_from_db()
    assert not appointment.needs_follow_up
    assert screening.review == HealthScreening.Review.NOT_NEEDED


def test_stopping_the_session_flags_it_and_sends_the_screening_back_to_review(
    spa, ashiatsu, me, my_http, ana
):
    screening = screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)

    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        stopped = post(
            my_http,
            appointment,
            "check",
            {"outcome": "stopped", "reason": "Client mentions a new back injury"},
        )
        next_booking = book(ana, ashiatsu, at(IN_A_WEEK, 10))
    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        completing = post(my_http, appointment, "complete")

    assert "Session stopped. Staff will follow up." in stopped
    assert "Staff follow-up" in stopped
    assert "This session was stopped at the check; staff follow it up." in completing
    appointment.refresh_from_db()
    screening.refresh_from_db()
    assert appointment.needs_follow_up
    assert appointment.status == Appointment.Status.CANCELLED
    assert "injury" not in appointment.cancellation_reason
    check = PreSessionCheck.objects.get(appointment=appointment)
    assert check.outcome == PreSessionCheck.Outcome.STOPPED
    assert check.reason == "Client mentions a new back injury"
    assert screening.review == HealthScreening.Review.PENDING
    assert next_booking.status == Appointment.Status.PENDING_REVIEW


def test_stopping_the_session_locks_the_client_before_the_appointment(
    spa, ashiatsu, me, my_http, ana
):
    """Booking and a new screening lock the client before any appointment; a stop that
    took them the other way round could deadlock with either."""
    screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)

    with (
        time_machine.travel(at(TOMORROW, 9, 50), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        post(my_http, appointment, "check", {"outcome": "stopped", "reason": "Dizzy today"})

    locks = [
        query["sql"].split(" FROM ")[1].split()[0].strip('"')
        for query in queries.captured_queries
        if "FOR UPDATE" in query["sql"] or "FOR NO KEY UPDATE" in query["sql"]
    ]
    assert locks.index("clients_client") < locks.index("appointments_appointment")


def test_stopping_the_session_holds_new_bookings_even_after_a_newer_screening(
    spa, ashiatsu, me, my_http, ana
):
    screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)
    newest = screen(ana, areas_to_avoid="left shoulder")

    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        post(my_http, appointment, "check", {"outcome": "stopped", "reason": "Dizzy, new tablets"})
        next_booking = book(ana, ashiatsu, at(IN_A_WEEK, 10))

    newest.refresh_from_db()
    assert newest.review == HealthScreening.Review.PENDING
    assert next_booking.status == Appointment.Status.PENDING_REVIEW


def test_cancelled_appointment_cannot_be_completed(spa, me, my_http, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)
    cancel_appointment(appointment=appointment, by_staff=True)

    with time_machine.travel(at(TOMORROW, 10, 5), tick=False):
        assert "Mark completed" not in get_html(my_http, appointment_url(appointment))
        html = post(my_http, appointment, "complete")

    assert "Only a confirmed appointment can be marked completed." in html
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_held_appointment_cannot_be_completed(spa, ashiatsu, me, my_http, ana):
    screen(ana, back_pain_under_care=True)
    appointment = book(ana, ashiatsu, at(IN_A_WEEK, 10), me)

    with time_machine.travel(at(IN_A_WEEK, 10, 5), tick=False):
        html = post(my_http, appointment, "complete")

    assert "Only a confirmed appointment can be marked completed." in html
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.PENDING_REVIEW


# The calendar feed


def feed_url(therapist: Therapist) -> str:
    token = Therapist.objects.values_list("feed_token", flat=True).get(pk=therapist.pk)
    return reverse("schedule:feed", args=[token])


def read_feed(http: HttpClient, therapist: Therapist) -> tuple[Calendar, str]:
    response = http.get(feed_url(therapist))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    # Long lines are folded ("\r\n "): unfold them before looking for words.
    return Calendar.from_ical(response.content), response.content.decode().replace("\r\n ", "")


def events(calendar: Calendar) -> dict[str, Event]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{settings.SPA_CALENDAR_DOMAIN}"


def test_feed_is_a_calendar_of_the_therapists_appointments_without_login(
    client, spa, me, colleague, ana
):
    soon = book(ana, spa.treatment, at(TOMORROW, 10), me)
    recent = book(
        ClientFactory(full_name="Pia Past"),
        spa.treatment,
        at(datetime.date(2026, 11, 5), 10),
        me,
        now=NOW - _days(30),
    )
    book(
        ClientFactory(full_name="Olga Old"),
        spa.treatment,
        at(datetime.date(2026, 10, 20), 10),
        me,
        now=NOW - _days(50),
    )
    book(ClientFactory(full_name="Otto Other"), spa.treatment, at(TOMORROW, 10), colleague)

    calendar, text = read_feed(client, me)

    found = events(calendar)
    assert set(found) == {uid(soon), uid(recent)}
    event = found[uid(soon)]
    assert event.decoded("dtstart") == soon.starts_at
    assert event.decoded("dtend") == soon.ends_at
    assert event.decoded("dtstart").utcoffset() == datetime.timedelta(0)
    assert "DTSTART:20261202T100000Z" in text
    assert "DTEND:20261202T110000Z" in text
    assert "Swedish massage" in str(event["summary"])
    assert "Ana" in str(event["summary"])
    assert "Lindqvist" not in text
    assert str(event["location"]) == soon.room.name
    assert str(event["status"]) == "CONFIRMED"
    assert "Otto" not in text
    assert "Olga" not in text


def test_feed_text_is_escaped_and_long_lines_folded_as_calendar_apps_read_them(
    client, spa, me, ana
):
    room = spa.room
    room.name = "Maple; the long room, by the garden \\ with the overhead bars – über quiet"
    room.save()
    ana.full_name = "Åsa, Ana Example"
    ana.save()
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)

    response = client.get(feed_url(me))

    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert raw.endswith(b"END:VCALENDAR\r\n")
    raw.decode("utf-8")  # never folded inside a character
    event = events(Calendar.from_ical(raw))[uid(appointment)]
    assert str(event["location"]) == room.name
    assert str(event["summary"]) == f"{spa.treatment.name} \u2013 {ana.first_name}"
    assert event.decoded("sequence") == appointment.revision
    assert event.decoded("last-modified") == appointment.updated_at.replace(microsecond=0)


def test_feed_event_sequence_increases_after_a_reschedule(client, spa, me, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)
    before = events(read_feed(client, me)[0])[uid(appointment)]

    reschedule_appointment(
        appointment=appointment, start=at(datetime.date(2026, 12, 3), 14), by_staff=True
    )

    after = events(read_feed(client, me)[0])[uid(appointment)]
    assert after.decoded("sequence") > before.decoded("sequence")
    assert after.decoded("dtstart") == at(datetime.date(2026, 12, 3), 14)


def test_feed_marks_a_cancelled_appointment_cancelled(client, spa, me, ana):
    appointment = book(ana, spa.treatment, at(TOMORROW, 10), me)
    cancel_appointment(appointment=appointment, by_staff=True)

    event = events(read_feed(client, me)[0])[uid(appointment)]

    assert str(event["status"]) == "CANCELLED"


def test_feed_never_carries_health_details(client, spa, ashiatsu, me, ana, staff_user):
    screening = screen(
        ana,
        other_conditions="Sciatica since May",
        back_pain_under_care=True,
        areas_to_avoid="left shoulder",
        pressure_preference=rules.Pressure.FIRM,
    )
    appointment = book(ana, ashiatsu, at(IN_A_WEEK, 10), me)
    approve_screening(
        screening=screening, by=staff_user, note="GP letter seen", therapist_note="Lower back"
    )

    calendar, text = read_feed(client, me)

    assert "Ashiatsu" in str(events(calendar)[uid(appointment)]["summary"])
    for word in ("sciatica", "disc", "shoulder", "pressure", "avoid", "lower back"):
        assert word not in text.lower(), word
    for word in ("screening", "gp letter", "review", "health"):
        assert word not in text.lower(), word


def test_unknown_address_or_inactive_therapist_gets_no_feed(client, me):
    assert client.get(reverse("schedule:feed", args=["not-the-token"])).status_code == 404
    url = feed_url(me)
    Therapist.objects.filter(pk=me.pk).update(is_active=False)
    assert client.get(url).status_code == 404


def test_calendar_page_shows_the_private_address(me, my_http):
    assert feed_url(me) in get_html(my_http, CALENDAR)


def test_replacing_the_address_cuts_off_the_old_one(client, me, my_http):
    old = feed_url(me)

    response = my_http.post(REPLACE_FEED, follow=True)

    new = feed_url(me)
    assert new != old
    assert response.redirect_chain == [(CALENDAR, 302)]
    assert "The old one no longer works" in response.content.decode()
    assert new in response.content.decode()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_replacing_the_address_needs_a_post_and_a_login(client, me, my_http):
    old = feed_url(me)

    assert my_http.get(REPLACE_FEED).status_code == 405
    anonymous = client.post(REPLACE_FEED)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(LOGIN)
    assert feed_url(me) == old


def test_feed_marks_a_held_appointment_tentative(client, spa, ashiatsu, me, ana):
    screen(ana, back_pain_under_care=True)
    held = book(ana, ashiatsu, at(IN_A_WEEK, 10), me)

    event = events(read_feed(client, me)[0])[uid(held)]

    assert held.status == Appointment.Status.PENDING_REVIEW
    assert str(event["status"]) == "TENTATIVE"


def test_stopping_a_session_flags_the_clients_other_upcoming_back_walking(
    spa, ashiatsu, me, my_http, ana
):
    screen(ana)
    today = book(ana, ashiatsu, at(TOMORROW, 10), me)
    later = book(ana, ashiatsu, at(IN_A_WEEK, 10), me)
    swedish = book(ana, spa.treatment, at(IN_A_WEEK, 14), me)

    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        post(my_http, today, "check", {"outcome": "stopped", "reason": "Dizzy spells"})

    later.refresh_from_db()
    swedish.refresh_from_db()
    assert later.needs_follow_up
    assert not swedish.needs_follow_up


def test_the_screening_summary_is_shown_only_for_sessions_still_to_come(
    spa, ashiatsu, me, my_http, ana
):
    screen(ana, areas_to_avoid="Left knee")
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)
    before = get_html(my_http, DAY, {"date": TOMORROW.isoformat()})

    with time_machine.travel(at(TOMORROW + _days(2), 9), tick=False):
        afterwards = get_html(my_http, DAY, {"date": TOMORROW.isoformat()})
        page = get_html(my_http, appointment_url(appointment))

    assert "Avoid: Left knee" in before
    assert "Avoid: Left knee" not in afterwards
    assert "Avoid: Left knee" not in page
    assert "Shown for upcoming sessions only." in page


def test_staff_outside_the_reviewers_do_not_read_why_a_session_was_stopped(
    spa, ashiatsu, me, my_http, ana, staff_http
):
    screen(ana)
    appointment = book(ana, ashiatsu, at(TOMORROW, 10), me)
    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        post(my_http, appointment, "check", {"outcome": "stopped", "reason": "Sudden dizziness"})

    page = staff_http.get(
        reverse("admin:appointments_appointment_change", args=[appointment.pk])
    ).content.decode()

    assert "Session stopped" in page
    assert "Sudden dizziness" not in page
