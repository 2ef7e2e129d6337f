"""The client journeys over HTTP: the change rule told for each time, the grace period,
moving with a calendar and a confirmation, `next` through sign-up, the screening detour,
the booked page's calendar file, booking again, therapists' bios, error summaries."""

import datetime
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.forms import format_start
from appointments.models import Appointment
from appointments.services import (
    BookingError,
    book_appointment,
    cancel_appointment,
    change_rule,
    reschedule_appointment,
)
from tests.clients.emails import sign_up_link
from tests.clients.test_sign_up import sign_up_data
from tests.factories import ClientFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import form_data, screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

TODAY = NOW.date()  # Tuesday 1 December 2026; NOW is 08:00
IN_THREE_WEEKS = datetime.date(2026, 12, 22)  # a Tuesday
IN_FIVE_DAYS = datetime.date(2026, 12, 6)


@pytest.fixture
def spa():
    return open_spa(therapists=1, rooms=1)


def confirm_page(http, spa, start) -> str:
    response = http.get(
        reverse("appointments:book", args=[spa.treatment.slug]),
        {"start": format_start(start), "therapist": "any"},
    )
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str) -> str:
    """The words of a page, as a reader sees them (tags dropped, spaces collapsed)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# The change rule: one place, told for each time


def test_the_rule_for_a_time_days_away_is_the_cancellation_window():
    rule = change_rule(starts_at=at(IN_FIVE_DAYS, 10), booked_at=NOW)

    assert rule.deadline == at(datetime.date(2026, 12, 5), 10)
    assert not rule.grace_only


def test_the_rule_for_a_time_inside_the_window_is_the_grace_period():
    rule = change_rule(starts_at=at(TODAY, 10), booked_at=NOW)

    assert rule.deadline == at(TODAY, 8, 15)
    assert rule.grace_only


def test_the_grace_period_never_runs_past_the_start(settings):
    settings.SPA_CANCELLATION_GRACE_MINUTES = 90

    assert change_rule(starts_at=at(TODAY, 9), booked_at=NOW).deadline == at(TODAY, 9)


def test_a_booking_inside_the_window_can_be_cancelled_online_for_the_grace_period(spa, ana):
    appointment = book_appointment(client=ana, treatment=spa.treatment, start=at(TODAY, 11))

    with time_machine.travel(at(TODAY, 8, 14), tick=False):
        cancel_appointment(appointment=appointment)

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_after_the_grace_period_only_the_phone_changes_it(spa, ana):
    appointment = book_appointment(client=ana, treatment=spa.treatment, start=at(TODAY, 11))

    with (
        time_machine.travel(at(TODAY, 8, 16), tick=False),
        pytest.raises(BookingError, match="or within 15 minutes of booking. Please call"),
    ):
        reschedule_appointment(appointment=appointment, start=at(TODAY, 14))
    with time_machine.travel(at(TODAY, 8, 16), tick=False), pytest.raises(BookingError):
        cancel_appointment(appointment=appointment)


def test_the_confirm_page_says_a_close_time_can_then_be_changed_only_by_phone(spa, logged_in):
    page = text_of(confirm_page(logged_in, spa, at(TODAY, 11)))

    assert "This time is less than 24 hours away." in page
    assert "After booking, you can change or cancel it online only for 15 minutes, until 08:15" in (
        page
    )
    assert "only by phone on +44 20 7946 0000" in page
    assert "up to 24 hours before it starts" not in page  # the old promise, wrong here


def test_the_confirm_page_says_until_when_a_time_days_away_can_be_changed(spa, logged_in):
    page = text_of(confirm_page(logged_in, spa, at(IN_FIVE_DAYS, 10)))

    assert "You can change or cancel it online until Saturday 5 December at 10:00" in page
    assert "less than 24 hours away" not in page


def test_the_words_follow_the_settings(spa, logged_in, settings):
    settings.SPA_CANCELLATION_WINDOW_HOURS = 48
    settings.SPA_CANCELLATION_GRACE_MINUTES = 30
    settings.SPA_MINIMUM_NOTICE_HOURS = 3

    page = text_of(confirm_page(logged_in, spa, at(TOMORROW, 12)))

    assert "This time is less than 48 hours away." in page
    assert "only for 30 minutes, until 08:30" in page
    assert "Questions, or booking within 3 hours? Call us" in page


def test_the_booking_page_gives_the_price_and_where_the_spa_is(spa, logged_in, settings):
    settings.SPA_ADDRESS = "7 Quay Street, Bristol"
    settings.SPA_MAP_URL = "https://maps.example/quay"

    page = confirm_page(logged_in, spa, at(IN_FIVE_DAYS, 10))

    assert f"£{spa.treatment.price}" in page
    assert "7 Quay Street, Bristol" in page and 'href="https://maps.example/quay"' in page


# Moving a booking: the calendar from its own week, then a confirmation


@pytest.fixture
def far_booking(spa, ana):
    return book_appointment(client=ana, treatment=spa.treatment, start=at(IN_THREE_WEEKS, 10))


def test_moving_opens_on_the_weeks_of_the_appointment(logged_in, far_booking, spa):
    html = logged_in.get(reverse("appointments:reschedule", args=[far_booking.pk])).content
    page = html.decode()

    here = reverse("appointments:reschedule", args=[far_booking.pk])
    # Monday 21 December starts the calendar; this week is behind "Earlier weeks".
    assert f"{here}?from=2026-12-21&amp;date=2026-12-21#times" in page
    assert "date=2026-12-02" not in page
    assert "?from=2026-11-23" in page  # earlier weeks, back towards today
    assert "your time now" in page


def test_a_day_picked_lists_times_that_lead_to_a_confirmation(logged_in, far_booking):
    url = reverse("appointments:reschedule", args=[far_booking.pk])

    page = logged_in.get(url, {"from": "2026-12-21", "date": "2026-12-23"}).content.decode()

    confirm = reverse("appointments:reschedule_confirm", args=[far_booking.pk])
    assert f'href="{confirm}?start={format_start(at(datetime.date(2026, 12, 23), 14))}' in page
    assert 'method="post"' not in page.split('id="times"')[1].split("</section>")[0]


def test_the_confirmation_shows_both_times_and_moves_nothing(logged_in, far_booking):
    url = reverse("appointments:reschedule_confirm", args=[far_booking.pk])

    page = text_of(
        logged_in.get(
            url, {"start": format_start(at(IN_FIVE_DAYS, 14)), "therapist": "any"}
        ).content.decode()
    )

    assert "Now Tuesday 22 December 2026 at 10:00" in page
    assert "New time Sunday 6 December 2026 at 14:00" in page
    assert "You can change or cancel it online until Saturday 5 December at 14:00" in page
    far_booking.refresh_from_db()
    assert far_booking.starts_at == at(IN_THREE_WEEKS, 10)


def test_the_confirmation_warns_when_the_new_time_is_inside_the_window(logged_in, far_booking):
    url = reverse("appointments:reschedule_confirm", args=[far_booking.pk])

    page = text_of(
        logged_in.get(
            url, {"start": format_start(at(TODAY, 16)), "therapist": "any"}
        ).content.decode()
    )

    # Booked three weeks ahead long ago (so no grace left): tonight could not be changed again.
    assert "This time is less than 24 hours away." in page
    assert "After moving, you can change or cancel it online only for 15 minutes" in page


def test_confirming_moves_the_appointment(logged_in, far_booking):
    response = logged_in.post(
        reverse("appointments:reschedule", args=[far_booking.pk]),
        {"start": format_start(at(IN_FIVE_DAYS, 14)), "therapist": "any"},
    )

    assert response.status_code == 302
    far_booking.refresh_from_db()
    assert far_booking.starts_at == at(IN_FIVE_DAYS, 14)


def test_saying_health_has_changed_while_moving_back_walking_goes_to_the_screening(ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana)
    appointment = book_appointment(
        client=ana, treatment=spa.treatment, start=at(IN_FIVE_DAYS, 10), health_unchanged=True
    )
    http = HttpClient()
    http.force_login(ana.user)
    start = format_start(at(IN_FIVE_DAYS, 14))

    response = http.post(
        reverse("appointments:reschedule", args=[appointment.pk]),
        {"start": start, "therapist": "any", "health_changed": "yes"},
    )

    assert response.status_code == 302
    assert response.url.startswith(reverse("screening:new") + "?next=")
    assert "reschedule%2Fconfirm%2F" in response.url
    appointment.refresh_from_db()
    assert appointment.starts_at == at(IN_FIVE_DAYS, 10)


# The way in: next through sign-up, and the screening detour


def test_the_login_page_offers_an_account_that_comes_back_to_the_time(client, spa):
    book = reverse("appointments:book", args=[spa.treatment.slug])
    target = f"{book}?start={format_start(at(TOMORROW, 10))}&therapist=any"

    login = client.get(reverse("clients:login"), {"next": target}).content.decode()
    sign_up_url = re.search(r'href="(/sign-up/[^"]*)">Create an account', login).group(1)
    sign_up = client.get(sign_up_url.replace("&amp;", "&")).content.decode()
    assert f'name="next" value="{target.replace("&", "&amp;")}"' in sign_up

    client.post(reverse("clients:sign_up"), sign_up_data(next=target))
    finished = client.post(sign_up_link("bea@example.com"))

    assert finished.status_code == 302
    assert finished.url == target


def test_a_next_to_another_site_is_ignored(client):
    client.post(reverse("clients:sign_up"), sign_up_data(next="https://evil.example/"))
    finished = client.post(sign_up_link("bea@example.com"))

    assert finished.url == reverse("clients:account")


def test_a_first_back_walking_booking_goes_straight_to_the_screening_and_back(ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    http = HttpClient()
    http.force_login(ana.user)
    query = {"start": format_start(at(IN_FIVE_DAYS, 10)), "therapist": "any"}

    response = http.get(reverse("appointments:book", args=[spa.treatment.slug]), query)

    assert response.status_code == 302
    assert response.url.startswith(reverse("screening:new") + "?next=%2Fbook%2Fashiatsu%2F")
    screening_page = http.get(response.url).content.decode()
    assert "please fill in our health screening" in screening_page
    done = http.post(response.url, form_data(ana))
    assert done.url.startswith(reverse("appointments:book", args=[spa.treatment.slug]))


def test_a_seventeen_year_old_is_never_asked_about_their_health(theo):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    http = HttpClient()
    http.force_login(theo.user)
    query = {"start": format_start(at(IN_FIVE_DAYS, 10)), "therapist": "any"}
    book = reverse("appointments:book", args=[spa.treatment.slug])

    confirm = http.get(book, query)
    changed = http.get(book, {**query, "health_changed": "yes"})
    screening_page = http.get(reverse("screening:new")).content.decode()

    assert confirm.status_code == changed.status_code == 200
    assert "only for adults aged 18 and over" in confirm.content.decode()
    assert "only for adults aged 18 and over" in changed.content.decode()
    assert "You do not need to fill in a health screening before then" in screening_page
    assert "Send my answers" not in screening_page
    assert http.post(reverse("screening:new"), form_data(theo)).status_code == 200
    assert not theo.screenings.exists()


# After booking: the calendar file, booking again, therapists' bios


def test_the_booked_page_offers_the_calendar_file_of_the_email(logged_in, ana, spa):
    appointment = book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 10))
    calendar = reverse("appointments:calendar_file", args=[appointment.pk])

    booked = logged_in.get(reverse("appointments:booked", args=[appointment.pk])).content.decode()
    response = logged_in.get(calendar)
    stranger = HttpClient()
    stranger.force_login(ClientFactory().user)

    assert f'href="{calendar}"' in booked and "Add to calendar" in booked
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="appointment.ics"'
    assert f"UID:appointment-{appointment.pk}@" in response.content.decode()
    assert stranger.get(calendar).status_code == 404


def test_a_past_visit_offers_to_book_it_again_with_the_same_therapist(logged_in, ana, spa):
    with time_machine.travel(at(datetime.date(2026, 11, 20), 8), tick=False):
        past = book_appointment(
            client=ana, treatment=spa.treatment, start=at(datetime.date(2026, 11, 21), 10)
        )
    again = f"{reverse('appointments:treatment', args=[spa.treatment.slug])}?therapist="
    again += str(spa.therapist.pk)

    mine = logged_in.get(reverse("appointments:mine")).content.decode()
    detail = logged_in.get(reverse("appointments:detail", args=[past.pk])).content.decode()

    assert f'href="{again}"' in mine.split('id="past-title"')[1]
    assert f'href="{again}"' in detail
    upcoming = mine.split('id="past-title"')[0]
    assert "Book again" not in upcoming


def test_clients_choosing_a_therapist_read_their_bios(client, spa):
    spa.therapist.display_name = "Maya"
    spa.therapist.bio = "Ten years of Ashiatsu; trained in Bali."
    spa.therapist.save()

    page = client.get(reverse("appointments:treatment", args=[spa.treatment.slug])).content

    assert "<dt>Maya</dt><dd>Ten years of Ashiatsu; trained in Bali.</dd>" in page.decode()


# Pages that read well: headings, calendar links, error summaries


class Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []

    def handle_starttag(self, tag, attrs) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))


@pytest.mark.parametrize("url", ["/", "/treatments/"])
def test_headings_go_down_one_level_at_a_time(client, spa, url):
    parser = Headings()
    parser.feed(client.get(url).content.decode())

    assert parser.levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(parser.levels, parser.levels[1:], strict=False)), (
        parser.levels
    )


def test_a_calendar_day_is_named_by_what_it_shows(client, spa):
    page = client.get(reverse("appointments:treatment", args=[spa.treatment.slug])).content

    link = re.search(
        r'<a href="[^"]*/2026-12-02/"[^>]*>(.*?)</a>', page.decode(), flags=re.S
    ).group(0)
    assert "aria-label" not in link
    assert text_of(link).strip() == "Wednesday 2 December: free times"
    shown = re.sub(r'<span class="visually-hidden">.*?</span>', "", link, flags=re.S)
    assert text_of(shown).split() == ["2", "free"]


def test_a_form_with_errors_starts_with_a_summary_linking_to_each_field(client):
    response = client.post(
        reverse("clients:sign_up"), sign_up_data(email="not an address", date_of_birth_0="")
    )

    summary = response.content.decode().split("data-error-summary>")[1].split("</div>")[0]
    assert "There is a problem" in summary
    assert re.search(r'<a href="#id_email">[^<]+</a>', summary)
    assert re.search(r'<a href="#id_date_of_birth_0">Date of birth must include a day', summary)


def test_the_questionnaire_links_its_errors_to_the_first_answer_and_hides_dates_until_yes(
    logged_in, ana
):
    page = logged_in.post(reverse("screening:new"), {}).content.decode()

    assert '<a href="#id_pregnant_0">Answer yes or no: Are you pregnant' in page
    assert page.count("data-shown-if-yes=") == 4
    assert re.search(r'data-shown-if-yes="recent_surgery">\s*<\w+ id="div_id_surgery_on"', page)


def test_the_enhancements_are_a_file_of_our_own_under_the_strict_policy(client):
    response = client.get("/")

    assert '<script src="/static/js/spa.js" defer></script>' in response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_admin_labels_each_box_of_a_date_and_time(staff_http):
    page = staff_http.get(reverse("admin:appointments_appointment_add")).content.decode()

    assert '<label class="datetime-part" for="id_start_0">Date:</label>' in page
    assert '<label class="datetime-part" for="id_start_1">Time:</label>' in page
    assert "/static/css/admin.css" in page and "/static/js/admin.js" in page


@pytest.mark.parametrize("start", ["0001-01-01T00:00Z", "9999-12-31T23:45Z", "2026-02-30T10:00Z"])
def test_a_tampered_time_to_move_to_is_refused_kindly(logged_in, far_booking, start):
    url = reverse("appointments:reschedule_confirm", args=[far_booking.pk])

    response = logged_in.get(url, {"start": start, "therapist": "any"}, follow=True)

    assert response.status_code == 200
    assert "Pick a time from the list of free times." in response.content.decode()
    far_booking.refresh_from_db()
    assert far_booking.starts_at == at(IN_THREE_WEEKS, 10)
