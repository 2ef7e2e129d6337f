import datetime
import uuid

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.forms import format_start
from appointments.models import Appointment, Qualification
from appointments.services import book_appointment
from tests.factories import ClientFactory, UserFactory
from tests.scheduling import TOMORROW, at, open_spa
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def spa():
    return open_spa(therapists=2, rooms=2)


def book_url(spa, start, therapist="any") -> str:
    return reverse("appointments:book", args=[spa.treatment.slug])


def booking_post(start, therapist="any", token=None) -> dict:
    return {
        "start": format_start(start),
        "therapist": therapist,
        "booking_token": str(token or uuid.uuid4()),
    }


def test_treatment_list_links_to_each_treatment(client, spa):
    html = client.get(reverse("appointments:treatments")).content.decode()

    assert spa.treatment.name in html
    assert reverse("appointments:treatment", args=[spa.treatment.slug]) in html


def test_treatment_page_shows_a_calendar_of_days_with_free_times(client, spa):
    response = client.get(reverse("appointments:treatment", args=[spa.treatment.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    day_url = reverse("appointments:day", args=[spa.treatment.slug, TOMORROW])
    assert day_url in html
    # Today (1 December) has times from 10:00 (two hours' notice).
    assert (
        reverse("appointments:day", args=[spa.treatment.slug, datetime.date(2026, 12, 1)]) in html
    )


def test_fully_booked_day_has_no_link(client):
    spa = open_spa(duration=465, buffer=0)  # one appointment fills 09:00-16:45
    book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 9), therapist=None
    )

    html = client.get(reverse("appointments:treatment", args=[spa.treatment.slug])).content
    assert reverse("appointments:day", args=[spa.treatment.slug, TOMORROW]) not in html.decode()
    assert "Wednesday 2 December: fully booked" in html.decode()


def test_day_page_lists_free_times(client, spa):
    response = client.get(reverse("appointments:day", args=[spa.treatment.slug, TOMORROW]))

    html = response.content.decode()
    assert ">09:00<" in html and ">16:00<" in html
    assert ">16:15<" not in html  # would end after 17:00
    assert f"start={format_start(at(TOMORROW, 9))}" in html


def test_day_page_for_one_therapist_leaves_out_their_booked_times(client, spa):
    first, second = spa.therapists
    book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10), therapist=first
    )
    url = reverse("appointments:day", args=[spa.treatment.slug, TOMORROW])

    mine = client.get(url, {"therapist": first.pk}).content.decode()
    anyone = client.get(url).content.decode()

    assert ">10:00<" not in mine
    assert ">10:00<" in anyone  # the second therapist is free then
    assert f"therapist={first.pk}" in mine


@pytest.mark.parametrize("bad", ["abc", "999999", "-1", "1.5"])
def test_day_page_with_a_tampered_therapist_shows_everyone(client, spa, bad):
    url = reverse("appointments:day", args=[spa.treatment.slug, TOMORROW])

    response = client.get(url, {"therapist": bad})

    assert response.status_code == 200
    assert ">09:00<" in response.content.decode()


@pytest.mark.parametrize("day", ["2026-02-31", "2026-13-01"])
def test_impossible_day_is_a_404(client, spa, day):
    assert client.get(f"/treatments/{spa.treatment.slug}/{day}/").status_code == 404


def test_unknown_treatment_is_a_404(client):
    assert client.get("/treatments/no-such-thing/").status_code == 404


def test_a_treatment_page_goes_the_day_its_last_qualification_has_expired(client, spa):
    """Its lookup is written once a day (appointments.views._offered_on): each day's
    date is its own."""
    Qualification.objects.update(expires_on=TOMORROW)
    page = reverse("appointments:treatment", args=[spa.treatment.slug])
    times = reverse("appointments:day", args=[spa.treatment.slug, TOMORROW])

    assert client.get(page).status_code == 200
    with time_machine.travel(at(TOMORROW, 8), tick=False):
        assert (client.get(page).status_code, client.get(times).status_code) == (200, 200)
    with time_machine.travel(at(TOMORROW + datetime.timedelta(days=1), 8), tick=False):
        assert (client.get(page).status_code, client.get(times).status_code) == (404, 404)
    assert client.get(page).status_code == 200


def test_confirmation_step_needs_login(client, spa):
    url = book_url(spa, at(TOMORROW, 10))

    response = client.get(url, {"start": format_start(at(TOMORROW, 10)), "therapist": "any"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("clients:login"))


def test_client_confirms_and_books(logged_in, spa):
    url = book_url(spa, at(TOMORROW, 10))
    page = logged_in.get(url, {"start": format_start(at(TOMORROW, 10)), "therapist": "any"})
    assert "Confirm your booking" in page.content.decode()
    assert "Wednesday 2 December 2026 at 10:00" in page.content.decode()

    response = logged_in.post(url, booking_post(at(TOMORROW, 10)))

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("appointments:booked", args=[appointment.pk])
    booked = logged_in.get(response.url).content.decode()
    assert "You are booked in" in booked
    assert "Drink plenty of water" in booked


def test_double_submitted_form_books_once(logged_in, spa):
    url = book_url(spa, at(TOMORROW, 10))
    data = booking_post(at(TOMORROW, 10))

    first = logged_in.post(url, data)
    second = logged_in.post(url, data)

    assert Appointment.objects.count() == 1
    assert first.url == second.url


def test_taken_time_gets_a_clear_message_and_nearest_times(logged_in, spa):
    for therapist in spa.therapists:
        book_appointment(
            client=ClientFactory(),
            treatment=spa.treatment,
            start=at(TOMORROW, 10),
            therapist=therapist,
        )

    response = logged_in.post(book_url(spa, None), booking_post(at(TOMORROW, 10)))

    html = response.content.decode()
    assert response.status_code == 409
    assert "That time is not available. Here are the nearest free times." in html
    assert format_start(at(TOMORROW, 11, 15)) in html
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "yesterday", "therapist": "any"}, "Pick a time from the list of free times."),
        ({"start": "", "therapist": "any"}, "Pick a time from the list of free times."),
        ({"start": "2026-12-02T10:00Z", "therapist": "9999"}, "Pick a therapist from the list"),
        ({"start": "2026-12-02T10:00Z", "therapist": "x"}, "Pick a therapist from the list"),
    ],
)
def test_tampered_booking_form_books_nothing_and_says_why(logged_in, spa, data, message):
    response = logged_in.post(book_url(spa, None), data, follow=True)

    assert message in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (at(TOMORROW, 10, 7), "That time is not available."),
        (at(datetime.date(2026, 11, 30), 10), "That time has already passed."),
        (at(datetime.date(2030, 12, 31), 10), "can be booked up to 60 days ahead"),
    ],
)
def test_off_grid_or_past_time_books_nothing(logged_in, spa, start, message):
    response = logged_in.post(book_url(spa, None), booking_post(start))

    assert response.status_code == 409
    assert message in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_start_at_the_end_of_the_calendar_is_a_tampered_time_not_a_500(logged_in, spa):
    response = logged_in.post(
        book_url(spa, None), booking_post(at(datetime.date(9999, 12, 31), 10))
    )

    assert response.status_code == 302  # back to the treatment's free times
    assert not Appointment.objects.exists()


def test_tampered_treatment_is_a_404(logged_in, spa):
    response = logged_in.post("/book/not-a-treatment/", booking_post(at(TOMORROW, 10)))

    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_staff_account_cannot_book_online(client, spa):
    force_login_verified(client, UserFactory(is_staff=True))

    response = client.post(book_url(spa, None), booking_post(at(TOMORROW, 10)), follow=True)

    assert "Only client accounts can book online." in response.content.decode()
    assert not Appointment.objects.exists()


def test_under_18_is_told_kindly_on_back_walking_pages(client):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    teen = ClientFactory(date_of_birth=datetime.date(2010, 5, 5))
    client.force_login(teen.user)

    page = client.get(reverse("appointments:treatment", args=[spa.treatment.slug])).content
    response = client.post(book_url(spa, None), booking_post(at(TOMORROW, 10)))

    # The page says from when, before a time is picked; the confirm step still refuses.
    assert "You can book back-walking from 5 May 2028, your 18th birthday." in page.decode()
    assert "only for adults aged 18 and over" in response.content.decode()
    assert not Appointment.objects.exists()


# My appointments, detail, cancel, reschedule


@pytest.fixture
def booked(client_account, spa):
    return book_appointment(
        client=client_account, treatment=spa.treatment, start=at(TOMORROW, 10), therapist=None
    )


def test_my_appointments_lists_upcoming_and_past(logged_in, booked, spa, client_account):
    with time_machine.travel(at(datetime.date(2026, 11, 20), 8), tick=False):
        old = book_appointment(
            client=client_account,
            treatment=spa.treatment,
            start=at(datetime.date(2026, 11, 21), 10),
        )

    html = logged_in.get(reverse("appointments:mine")).content.decode()

    upcoming, past = html.split('id="past-title"')
    assert reverse("appointments:detail", args=[booked.pk]) in upcoming
    assert reverse("appointments:detail", args=[old.pk]) in past


def test_another_clients_appointment_is_a_404(booked, spa):
    stranger = HttpClient()
    stranger.force_login(ClientFactory().user)

    for name in ("detail", "cancel", "reschedule", "booked"):
        url = reverse(f"appointments:{name}", args=[booked.pk])
        assert stranger.get(url).status_code == 404
        assert stranger.post(url, {"start": format_start(at(TOMORROW, 14))}).status_code == 404
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED
    assert booked.starts_at == at(TOMORROW, 10)


def test_client_cancels_their_appointment(logged_in, booked):
    url = reverse("appointments:cancel", args=[booked.pk])
    assert "Cancel this appointment?" in logged_in.get(url).content.decode()

    response = logged_in.post(url, {"reason": "Away"}, follow=True)

    assert "Your appointment is cancelled." in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED


def test_cancelling_again_says_it_is_already_cancelled(logged_in, booked):
    url = reverse("appointments:cancel", args=[booked.pk])
    logged_in.post(url)

    response = logged_in.post(url, follow=True)

    assert "This appointment is already cancelled." in response.content.decode()


def test_inside_the_window_the_page_says_to_call(logged_in, booked):
    with time_machine.travel(at(TOMORROW, 8), tick=False):
        detail = logged_in.get(reverse("appointments:detail", args=[booked.pk])).content.decode()
        response = logged_in.post(reverse("appointments:cancel", args=[booked.pk]), follow=True)

    assert "please call us" in detail
    assert "Please call the spa" in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED


def test_client_reschedules(logged_in, booked):
    url = reverse("appointments:reschedule", args=[booked.pk])
    page = logged_in.get(url, {"date": TOMORROW.isoformat()}).content.decode()
    assert ">14:00<" in page

    response = logged_in.post(url, {"start": format_start(at(TOMORROW, 14)), "therapist": "any"})

    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.starts_at == at(TOMORROW, 14)


def test_reschedule_into_a_taken_time_changes_nothing(logged_in, booked, spa):
    for therapist in spa.therapists:
        book_appointment(
            client=ClientFactory(),
            treatment=spa.treatment,
            start=at(TOMORROW, 14),
            therapist=therapist,
        )
    url = reverse("appointments:reschedule", args=[booked.pk])

    response = logged_in.post(url, {"start": format_start(at(TOMORROW, 14)), "therapist": "any"})

    assert response.status_code == 409
    assert "That time is not available." in response.content.decode()
    booked.refresh_from_db()
    assert booked.starts_at == at(TOMORROW, 10)


# Query-count guards: the same number of queries however busy the spa is.


def count_queries(http, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert http.get(url, params or {}).status_code == 200
    return len(queries)


def grow(spa, therapists: int, appointments_per_therapist: int):
    extra = open_spa(therapists=therapists, rooms=therapists, name="Growth")
    for therapist in extra.therapists:
        therapist.qualifications.create(treatment=spa.treatment)
        for n in range(appointments_per_therapist):
            book_appointment(
                client=ClientFactory(),
                treatment=spa.treatment,
                start=at(TOMORROW + datetime.timedelta(days=n // 3), 9 + (n % 3) * 2),
                therapist=therapist,
            )


def test_free_times_calendar_and_my_appointments_cost_the_same_queries_when_busy(
    logged_in, client_account, spa
):
    book_appointment(client=client_account, treatment=spa.treatment, start=at(TOMORROW, 10))
    day = reverse("appointments:day", args=[spa.treatment.slug, TOMORROW])
    calendar = reverse("appointments:treatment", args=[spa.treatment.slug])
    mine = reverse("appointments:mine")
    before = [count_queries(logged_in, u) for u in (day, calendar, mine)]

    grow(spa, therapists=4, appointments_per_therapist=6)
    for n in range(5):
        book_appointment(
            client=client_account,
            treatment=spa.treatment,
            start=at(TOMORROW + datetime.timedelta(days=3 + n), 12),
        )

    after = [count_queries(logged_in, u) for u in (day, calendar, mine)]
    assert after == before
    assert max(before) <= 15


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-11-30", "2027-06-01"])
def test_a_day_outside_the_booking_window_has_no_times_and_no_error(client, spa, day):
    response = client.get(f"/treatments/{spa.treatment.slug}/{day}/")

    assert response.status_code == 200
    assert "No free times on this day" in response.content.decode()


@pytest.mark.parametrize("start", ["0001-01-01T10:00Z", "9999-12-31T23:45Z", "2026-02-30T10:00Z"])
def test_absurd_start_times_book_nothing_and_say_why(logged_in, spa, start):
    response = logged_in.post(
        book_url(spa, None), {"start": start, "therapist": "any"}, follow=True
    )

    html = response.content.decode()
    assert response.status_code in (200, 409)
    assert "already passed" in html or "days ahead" in html or "Pick a time from the list" in html
    assert not Appointment.objects.exists()
