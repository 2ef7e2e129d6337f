"""The front desk's pages: the day book, booking a caller, moves, arrivals and the call list."""

import datetime
import re
from io import StringIO
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.forms import format_start
from appointments.front_desk import work_list
from appointments.models import (
    Appointment,
    FollowUpCall,
    Notice,
    Qualification,
    TimeOff,
    Treatment,
    WorkingHours,
)
from appointments.services import book_appointment
from appointments.visits import record_pre_session_check
from clients.models import Client, User
from tests.appointments.front_desk import front_desk_http, front_desk_user
from tests.factories import ClientFactory, TherapistFactory, UserFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa, work
from tests.screenings import screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NO_SCREENING = (
    "This client has no health screening on file: they must fill one in (we can email them "
    "the link) before back-walking."
)


@pytest.fixture
def desk() -> HttpClient:
    return front_desk_http()


@pytest.fixture
def spa():
    """Two therapists working 09:00-17:00 every day, two rooms: a Swedish massage (60 + 15)."""
    spa = open_spa(therapists=2, rooms=2)
    spa.therapists[0].display_name, spa.therapists[1].display_name = "Maya", "Noor"
    for therapist in spa.therapists:
        therapist.save()
    return spa


def day_book(http: HttpClient, day: datetime.date = TOMORROW, **query) -> str:
    response = http.get(reverse("front_desk:day"), {"date": day.isoformat(), **query})
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page as a person reads it: tags gone, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def slot(spa, hour: int, minute: int = 0, *, therapist=None, day=TOMORROW) -> dict:
    return {
        "treatment": spa.treatment.slug,
        "start": format_start(at(day, hour, minute)),
        "therapist": (therapist or spa.therapist).pk,
    }


def book_for(client: Client, spa, hour: int, *, therapist=None) -> Appointment:
    return book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(TOMORROW, hour),
        therapist=therapist or spa.therapist,
        by_staff=True,
    )


# Who may open it


def test_the_front_desk_group_has_the_front_desk_and_the_waitlist_and_nothing_of_health():
    group = Group.objects.get(name="Front desk")  # made by a migration

    assert {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()} == {
        "appointments.use_front_desk",
        "appointments.view_waitlistentry",
        "appointments.add_waitlistentry",
        "appointments.change_waitlistentry",
        "clients.view_client",
    }


def test_front_desk_pages_are_for_front_desk_staff_only(ana, spa):
    url = reverse("front_desk:day")
    assert HttpClient().get(url).status_code == 302  # to the login page
    client_http = HttpClient()
    client_http.force_login(ana.user)
    assert client_http.get(url).status_code == 403
    other_staff = force_login_verified(HttpClient(), UserFactory(is_staff=True))
    assert other_staff.get(url).status_code == 403
    # The permission alone on a client account opens nothing: staff sign in with two factors.
    ana.user.groups.add(Group.objects.get(name="Front desk"))
    assert client_http.get(url).status_code == 403

    assert front_desk_http().get(url).status_code == 200


def test_front_desk_staff_cannot_open_screening_answers(ana):
    screening = screen(ana, back_pain_under_care=True)
    desk = front_desk_http()

    for model in ("healthscreening", "screeningtoreview"):
        response = desk.get(reverse(f"admin:screening_{model}_change", args=[screening.pk]))
        assert response.status_code in (302, 403)
        assert "Back pain" not in response.content.decode()


def test_nothing_of_the_clients_screening_shows_at_the_front_desk(desk, ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana, areas_to_avoid="Left shoulder blade")
    appointment = book_appointment(
        client=ana,
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=spa.therapist,
        health_unchanged=True,
    )

    pages = [
        day_book(desk),
        desk.get(reverse("front_desk:appointment", args=[appointment.pk])).content.decode(),
        desk.get(reverse("front_desk:today")).content.decode(),
    ]

    for page in pages:
        assert "shoulder" not in page.lower()


# The day book


def test_the_day_book_shows_each_working_therapist_their_appointments_and_free_times(
    desk, spa, ana
):
    book_for(ana, spa, 10)
    off_today = TherapistFactory(display_name="Omar")  # works Mondays only
    work(off_today, days=[0])

    page = text(day_book(desk))

    assert "Maya" in page and "Noor" in page
    assert "Omar" not in page
    assert "10:00–11:00 Ana Example" in page
    assert f"Swedish massage · {spa.rooms[0].name}" in page
    assert "Confirmed" in page and "First visit" in page
    # Maya's 09:00 would run into Ana's appointment; Noor is free then.
    assert "Book 09:00 with Noor" in page
    assert "Book 09:00 with Maya" not in page
    # The buffer after Ana's appointment is Maya's too: free again at 11:15.
    assert "Book 11:00 with Maya" not in page
    assert "Book 11:15 with Maya" in page


def test_a_free_time_in_the_day_book_links_to_booking_it(desk, spa):
    html = day_book(desk)

    url = (
        f"{reverse('front_desk:book')}?treatment={spa.treatment.slug}&amp;"
        f"start={format_start(at(TOMORROW, 9))}&amp;therapist={spa.therapists[1].pk}"
    )
    assert url in html


def test_the_day_book_shades_time_off_and_hours_not_worked(desk, spa):
    maya, noor = spa.therapists
    WorkingHours.objects.filter(therapist=noor, weekday=TOMORROW.weekday()).update(
        starts_at=datetime.time(12)
    )
    TimeOff.objects.create(therapist=maya, starts_at=at(TOMORROW, 14), ends_at=at(TOMORROW, 17))

    html = day_book(desk)
    page = text(html)

    assert "12:00–17:00" in page  # Noor's hours in her column's heading
    assert "Time off 14:00" in page
    assert 'class="fd-time_off"' in html and 'class="fd-off"' in html
    assert "Book 14:00 with Maya" not in page
    assert "Book 09:00 with Noor" not in page
    assert "Book 12:00 with Noor" in page


def test_the_day_book_shows_held_flagged_and_arrived_appointments(desk, spa, ana, dara):
    appointment = book_for(ana, spa, 10)
    appointment.needs_follow_up = True
    appointment.arrived_at = at(TOMORROW, 9, 55)
    appointment.save()
    back_walking = open_spa(back_walking=True, name="Ashiatsu")
    book_appointment(
        client=dara,
        treatment=back_walking.treatment,
        start=at(TOMORROW, 14),
        therapist=back_walking.therapist,
        health_unchanged=True,
    )

    page = text(day_book(desk))

    assert "Flagged for a call" in page
    assert "Arrived 09:55" in page
    assert "Waiting for health review" in page


def test_the_day_book_moves_between_days_and_jumps_to_a_date(desk, spa):
    html = day_book(desk, TOMORROW)

    assert f"date=2026-12-01&amp;treatment={spa.treatment.slug}" in html  # previous
    assert f"date=2026-12-03&amp;treatment={spa.treatment.slug}" in html  # next
    assert "Wednesday 2 December 2026" in html
    assert 'type="date"' in html
    assert "/admin/appointments/waitlistentry/?day=2026-12-02" in html
    assert "Saturday 5 December 2026" in day_book(desk, datetime.date(2026, 12, 5))
    nonsense = desk.get(reverse("front_desk:day"), {"date": "31-02-2026"})
    assert "Tuesday 1 December 2026" in nonsense.content.decode()


def test_the_day_book_is_a_table_with_headers_for_therapists_and_times(desk, spa):
    html = day_book(desk)

    assert '<th scope="col">' in html
    assert re.search(r'<th scope="row">\s*09:00\s*</th>', html)
    assert "<caption" in html


def _busy_spa(therapists: int, appointments: int):
    """Appointments spread over the therapists, back to back (60 minutes and 15 of buffer)."""
    spa = open_spa(therapists=therapists, rooms=therapists, name=f"Massage {therapists}")
    for index, client in enumerate(ClientFactory.create_batch(appointments)):
        book_appointment(
            client=client,
            treatment=spa.treatment,
            start=at(TOMORROW, 9) + datetime.timedelta(minutes=75 * (index // therapists)),
            therapist=spa.therapists[index % therapists],
            by_staff=True,
        )
    assert Appointment.objects.count() == appointments
    return spa


def _queries_for_day_book(desk) -> int:
    with CaptureQueriesContext(connection) as queries:
        day_book(desk)
    return len(queries)


def test_the_day_book_costs_the_same_queries_however_many_therapists_and_appointments(desk):
    _busy_spa(therapists=2, appointments=5)
    few = _queries_for_day_book(desk)
    Appointment.objects.all().delete()

    _busy_spa(therapists=10, appointments=40)
    many = _queries_for_day_book(desk)

    assert few == many


def _named_spa(names: list[str]):
    spa = open_spa(therapists=len(names), rooms=len(names), name="Massage by name")
    for therapist, name in zip(spa.therapists, names, strict=True):
        therapist.display_name = name
        therapist.save()
    return spa


def test_a_chains_day_book_pages_through_its_therapists_by_name(desk, settings, ana):
    settings.SPA_DAY_BOOK_THERAPISTS = 2
    spa = _named_spa(["Eve", "Bea", "Dan", "Ari", "Cy"])
    by_name = {t.display_name: t for t in spa.therapists}
    book_for(ana, spa, 10, therapist=by_name["Cy"])

    first = text(day_book(desk))
    second_html = day_book(desk, page=2)
    second = text(second_html)
    last = text(day_book(desk, page=3))

    assert "Therapists 1–2 of 5 working, by name" in first
    assert "Book 09:00 with Ari" in first and "Book 09:00 with Bea" in first
    assert "Book 09:00 with Cy" not in first and "Ana Example" not in first
    assert "Therapists 3–4 of 5 working, by name" in second
    assert "Book 09:00 with Dan" in second
    # Cy's 10:00 client, and Cy's free times around it: on Cy's page only.
    assert "10:00–11:00 Ana Example" in second
    assert "Book 09:00 with Cy" not in second and "Book 11:15 with Cy" in second
    assert "Book 09:00 with Ari" not in second
    assert "Therapist 5 of 5 working, by name" in last and "Book 09:00 with Eve" in last
    # The pages name their therapists, and the pager keeps the day and the treatment.
    assert ">Ari – Bea</option>" in second_html and ">Eve – Eve</option>" in second_html
    assert f"date=2026-12-02&amp;treatment={spa.treatment.slug}&amp;page=3" in second_html
    assert f'date=2026-12-02&amp;treatment={spa.treatment.slug}"' in second_html
    assert f"date=2026-12-03&amp;treatment={spa.treatment.slug}&amp;page=2" in second_html


def test_a_page_number_past_the_end_or_nonsense_still_shows_the_day(desk, settings):
    settings.SPA_DAY_BOOK_THERAPISTS = 2
    _named_spa(["Ari", "Bea", "Cy"])

    past_the_end = text(day_book(desk, page="99"))
    nonsense = text(day_book(desk, page="two"))

    assert "Therapist 3 of 3" in past_the_end and "Book 09:00 with Cy" in past_the_end
    assert "Wednesday 2 December 2026" in nonsense
    assert "Therapists 1–2 of 3" in nonsense and "Book 09:00 with Ari" in nonsense


def test_a_small_spas_day_book_is_one_page_without_a_pager(desk, spa):
    html = day_book(desk)

    assert "working, by name" not in html
    assert 'name="page"' not in html


def test_a_page_of_the_day_book_costs_the_same_queries_however_many_work_that_day(desk, settings):
    settings.SPA_DAY_BOOK_THERAPISTS = 2
    _busy_spa(therapists=3, appointments=6)
    few = _queries_for_day_book(desk)
    Appointment.objects.all().delete()

    _busy_spa(therapists=12, appointments=48)
    many = _queries_for_day_book(desk)

    assert few == many


# Booking a caller


def test_the_front_desk_tells_two_clients_of_the_same_name_apart(desk, spa):
    older = ClientFactory(
        full_name="Sam Lee",
        user__email="sam.lee@example.com",
        phone="07700 900111",
        date_of_birth=datetime.date(1970, 5, 1),
    )
    ClientFactory(
        full_name="Sam Lee",
        user__email="samlee99@example.com",
        phone="07700 900222",
        date_of_birth=datetime.date(1999, 9, 9),
    )
    Appointment.objects.create(
        client=older,
        therapist=spa.therapist,
        treatment=spa.treatment,
        room=spa.room,
        starts_at=at(datetime.date(2026, 11, 3), 10),
        ends_at=at(datetime.date(2026, 11, 3), 11),
        blocked_until=at(datetime.date(2026, 11, 3), 11, 15),
        status=Appointment.Status.COMPLETED,
    )

    def search(query: str) -> str:
        response = desk.get(reverse("front_desk:book"), {**slot(spa, 9), "q": query})
        return text(response.content.decode())

    page = search("sam lee")
    assert "sam.lee@example.com 07700 900111 1 May 1970 3 Nov 2026" in page
    assert "samlee99@example.com 07700 900222 9 Sep 1999 never" in page
    assert "samlee99" not in search("07700900111")
    assert "sam.lee@" not in search("9/9/1999")
    assert "sam.lee@" in search("SAM.LEE@example.com")


def test_the_front_desk_books_a_found_client_into_a_free_time(desk, spa, ana):
    confirm = desk.get(reverse("front_desk:book"), {**slot(spa, 9), "client": ana.pk})
    assert "Book 09:00 for Ana Example" in confirm.content.decode()

    response = desk.post(reverse("front_desk:book"), {**slot(spa, 9), "client": ana.pk})

    appointment = Appointment.objects.get()
    assert (appointment.client, appointment.therapist) == (ana, spa.therapist)
    assert appointment.starts_at == at(TOMORROW, 9)
    assert response.status_code == 302
    assert response.url == (
        f"{reverse('front_desk:day')}?date=2026-12-02&treatment={spa.treatment.slug}"
    )
    assert Notice.objects.filter(appointment=appointment, kind=Notice.Kind.CONFIRMATION).exists()


def test_a_caller_with_an_email_is_added_and_invited_to_choose_a_password(desk, spa):
    response = desk.post(
        reverse("front_desk:new_client"),
        {
            **slot(spa, 9),
            "full_name": "  Cal  Caller ",
            "phone": "07700 900333",
            "email": "Cal@Example.com",
            "date_of_birth_0": "14",
            "date_of_birth_1": "6",
            "date_of_birth_2": "1985",
        },
    )

    client = Client.objects.get(full_name="Cal Caller")
    assert response.status_code == 302
    assert response.url.endswith(f"client={client.pk}")
    assert client.user.email == "cal@example.com"
    assert not client.user.has_usable_password()
    assert client.date_of_birth == datetime.date(1985, 6, 14)
    assert Notice.objects.filter(user=client.user, kind=Notice.Kind.INVITATION).count() == 1


def test_a_caller_without_an_email_gets_a_hidden_login_and_no_emails(desk, spa):
    desk.post(
        reverse("front_desk:new_client"),
        {
            **slot(spa, 9),
            "full_name": "Pat Phone",
            "phone": "07700 900444",
            "email": "",
            "date_of_birth_0": "1",
            "date_of_birth_1": "2",
            "date_of_birth_2": "1960",
        },
    )
    client = Client.objects.get(full_name="Pat Phone")
    desk.post(reverse("front_desk:book"), {**slot(spa, 9), "client": client.pk})
    appointment = Appointment.objects.get(client=client)

    report = deliver_owed_notices()

    assert re.fullmatch(r"phone-[0-9a-f]{32}@invalid", client.user.email)
    assert not client.user.has_usable_password()
    assert not Notice.objects.filter(user=client.user).exists()  # no invitation
    assert (report.sent, report.skipped, mail.outbox) == (0, 1, [])  # the confirmation
    for url in (
        reverse("front_desk:appointment", args=[appointment.pk]),
        f"{reverse('front_desk:book')}?client={client.pk}&"
        f"treatment={spa.treatment.slug}&start={format_start(at(TOMORROW, 11, 15))}"
        f"&therapist={spa.therapist.pk}",
    ):
        page = desk.get(url).content.decode()
        assert "@invalid" not in page
        assert "None on file (cannot log in)" in page


def test_adding_a_caller_whose_email_has_an_account_says_to_find_them(desk, spa, ana):
    response = desk.post(
        reverse("front_desk:new_client"),
        {
            **slot(spa, 9),
            "full_name": "Ana Again",
            "phone": "07700 900555",
            "email": "ana@example.com",
            "date_of_birth_0": "27",
            "date_of_birth_1": "3",
            "date_of_birth_2": "1990",
        },
    )

    assert response.status_code == 200
    assert "A client with this email address already exists" in response.content.decode()
    assert Client.objects.count() == 1


def test_back_walking_for_a_caller_without_a_screening_is_refused_in_staff_words(desk, ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")

    response = desk.post(
        reverse("front_desk:book"),
        {**slot(spa, 10), "client": ana.pk, "health_unchanged": "on"},
    )

    page = text(response.content.decode())
    assert response.status_code == 200
    assert NO_SCREENING in page
    assert "please fill in our health screening" not in page
    assert "Email Ana Example the link to the health screening" in page
    assert not Appointment.objects.exists()

    invited = desk.post(
        reverse("front_desk:invite", args=[ana.pk]), {"next": reverse("front_desk:today")}
    )
    assert invited.status_code == 302
    assert Notice.objects.filter(user=ana.user, kind=Notice.Kind.INVITATION).count() == 1


def test_back_walking_asks_staff_to_confirm_nothing_changed_then_books(desk, ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana)

    unconfirmed = desk.post(reverse("front_desk:book"), {**slot(spa, 10), "client": ana.pk})
    assert unconfirmed.status_code == 200
    assert "Ask the client whether anything in their health has changed" in text(
        unconfirmed.content.decode()
    )

    desk.post(
        reverse("front_desk:book"), {**slot(spa, 10), "client": ana.pk, "health_unchanged": "on"}
    )
    assert Appointment.objects.get().status == Appointment.Status.CONFIRMED


def test_a_time_refused_because_of_the_clients_own_appointment_says_so(desk, spa, ana):
    maya, noor = spa.therapists
    book_for(ana, spa, 10, therapist=maya)

    response = desk.post(
        reverse("front_desk:book"), {**slot(spa, 10, 30, therapist=noor), "client": ana.pk}
    )

    page = text(response.content.decode())
    assert response.status_code == 200
    assert (
        "This client already has an appointment at that time: Swedish massage with Maya, "
        "10:00–11:00." in page
    )
    assert "Nearest free times" in page
    # The alternatives are times to pick, for the same client.
    assert f"client={ana.pk}" in response.content.decode()
    assert Appointment.objects.count() == 1


# One appointment: move, cancel, arrival, completed, no-show, the call


def test_the_front_desk_moves_an_appointment_to_another_free_time(desk, spa, ana):
    appointment = book_for(ana, spa, 10)
    noor = spa.therapists[1]

    move_url = reverse("front_desk:move", args=[appointment.pk])
    own = text(desk.get(move_url).content.decode())
    anyone = text(desk.get(move_url, {"whose": "any"}).content.decode())
    choices = desk.get(move_url, {"whose": noor.pk})
    # The client's therapist first; any therapist: each time once, with who is free then.
    assert own.count("Free times on") == 1
    assert "with Maya" in own and "14:00" in own and "with Noor" not in own
    assert "14:00 with Maya" in anyone and "14:00 with Noor" not in anyone
    query = urlencode({"start": format_start(at(TOMORROW, 14)), "therapist": noor.pk})
    pick = f"{move_url}?{query}".replace("&", "&amp;")
    assert pick in choices.content.decode()
    confirm = desk.get(move_url, {"start": format_start(at(TOMORROW, 14)), "therapist": noor.pk})
    assert "Move to 14:00" in confirm.content.decode()

    response = desk.post(move_url, {"start": format_start(at(TOMORROW, 14)), "therapist": noor.pk})

    appointment.refresh_from_db()
    assert response.status_code == 302
    assert (appointment.starts_at, appointment.therapist) == (at(TOMORROW, 14), noor)
    assert appointment.notices.filter(kind=Notice.Kind.RESCHEDULE).exists()


def test_the_front_desk_cancels_with_a_reason_the_client_reads(desk, spa, ana):
    appointment = book_for(ana, spa, 10)

    desk.post(reverse("front_desk:cancel", args=[appointment.pk]), {"reason": "Called to cancel."})

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancellation_reason == "Called to cancel."


def test_an_arrival_is_marked_on_the_day_and_shown_on_the_work_list(desk, spa, ana):
    appointment = book_appointment(
        client=ana, treatment=spa.treatment, start=at(NOW.date(), 9), by_staff=True
    )

    response = desk.post(reverse("front_desk:arrived", args=[appointment.pk]), {"back": "today"})

    appointment.refresh_from_db()
    assert appointment.arrived_at == NOW
    assert response.url == reverse("front_desk:today")
    page = text(desk.get(reverse("front_desk:today")).content.decode())
    assert "Arrived 08:00" in page


def test_completed_goes_through_the_visit_rules(desk, spa, ana):
    appointment = book_appointment(
        client=ana, treatment=spa.treatment, start=at(NOW.date(), 9), by_staff=True
    )
    early = desk.post(reverse("front_desk:complete", args=[appointment.pk]), follow=True)
    assert "once it has started" in early.content.decode()

    with time_machine.travel(at(NOW.date(), 9, 30), tick=False):
        # Signed in again: a staff session ends after a while without a request.
        desk = front_desk_http(User.objects.get(email="desk@example.com"))
        desk.post(reverse("front_desk:complete", args=[appointment.pk]))

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED


def test_calling_a_flagged_client_clears_the_flag_and_records_who_and_when(desk, spa, ana):
    appointment = book_for(ana, spa, 10)
    Appointment.objects.filter(pk=appointment.pk).update(needs_follow_up=True)

    response = desk.post(reverse("front_desk:called", args=[appointment.pk]), {"back": "today"})

    appointment.refresh_from_db()
    call = FollowUpCall.objects.get()
    assert response.url == reverse("front_desk:today")
    assert not appointment.needs_follow_up
    assert (call.appointment, call.called_by.email, call.called_at) == (
        appointment,
        "desk@example.com",
        NOW,
    )
    again = desk.post(reverse("front_desk:called", args=[appointment.pk]), follow=True)
    assert "This call is already recorded: desk@example.com at 08:00" in again.content.decode()
    assert FollowUpCall.objects.count() == 1


# Today's work


def test_the_work_list_shows_arrivals_holds_and_calls_to_make(desk, spa, ana, dara):
    today = NOW.date()
    book_appointment(client=ana, treatment=spa.treatment, start=at(today, 15), by_staff=True)
    book_appointment(
        client=ClientFactory(full_name="Eve Early"),
        treatment=spa.treatment,
        start=at(today, 9),
        by_staff=True,
    )
    back_walking = open_spa(back_walking=True, name="Ashiatsu")
    held = book_appointment(
        client=dara,
        treatment=back_walking.treatment,
        start=at(TOMORROW + datetime.timedelta(days=3), 10),
        therapist=back_walking.therapist,
        health_unchanged=True,
    )
    walker = ClientFactory(full_name="Wren Walker")
    screen(walker)
    Qualification.objects.get_or_create(
        therapist=back_walking.therapist, treatment=back_walking.treatment
    )
    cancelled = book_appointment(
        client=walker,
        treatment=back_walking.treatment,
        start=at(TOMORROW, 10),
        therapist=back_walking.therapist,
        health_unchanged=True,
    )
    screen(walker, pregnant=True)  # judged again: the spa cancels it and flags a call

    page = text(desk.get(reverse("front_desk:today")).content.decode())

    cancelled.refresh_from_db()
    assert cancelled.status == Appointment.Status.CANCELLED and cancelled.needs_follow_up
    assert page.index("Eve Early") < page.index("Ana Example")  # arrivals in order
    assert "Mark Eve Early arrived" in page
    held.refresh_from_db()
    deadline = timezone.localtime(held.hold_expires_at)
    assert f"Review by {deadline:%a %-d %b}, {deadline:%H:%M}" in page
    calls = page[page.index("Calls to make") : page.index("Clients owed a follow-up")]
    assert "Wren Walker : phone 07700 900123" in calls
    assert "The spa cancelled it: the back-walking gate no longer lets it go ahead" in calls
    assert "Called Wren Walker" in calls
    assert "pregnan" not in page.lower()


@pytest.mark.usefixtures("desk")
def test_a_chains_arrivals_come_a_page_at_a_time_opening_on_who_is_next(settings):
    settings.SPA_ARRIVALS_PER_PAGE = 2
    today = NOW.date()
    spa = open_spa(name="Swedish")
    names = ["Ada Nine", "Ben Ten", "Cal Eleven", "Dot Noon", "Eli One"]
    for index, name in enumerate(names):  # back to back: 09:00, 10:15, 11:30, ...
        with time_machine.travel(at(today, 7), tick=False):
            book_appointment(
                client=ClientFactory(full_name=name),
                treatment=spa.treatment,
                start=at(today, 9) + datetime.timedelta(minutes=75 * index),
                by_staff=True,
            )

    def arrivals(**query) -> str:
        # Logged in at the moment travelled to: staff sessions end after 30 idle minutes.
        http = front_desk_http(User.objects.get(email="desk@example.com"))
        page = text(http.get(reverse("front_desk:today"), query).content.decode())
        return page[page.index("Arrivals today") : page.index("Held for a health review")]

    # 10:40: Ada's 09:00-10:00 is over, Ben's 10:15-11:15 is not.
    with time_machine.travel(at(today, 10, 40), tick=False):
        now_page = arrivals()
        first = arrivals(page=1)
        last = arrivals(page=9)
        nonsense = arrivals(page="x")

    assert "Arrivals today 5" in now_page
    assert "1–2 of 5, in order of time" in now_page  # Ben, still in the room, is on page 1
    assert "Ada Nine" in first and "Ben Ten" in first and "Cal Eleven" not in first
    with time_machine.travel(at(today, 11, 20), tick=False):
        assert "3–4 of 5" in arrivals() and "Cal Eleven" in arrivals()
    assert "5–5 of 5" in last and "Eli One" in last and "Dot Noon" not in last
    assert "1–2 of 5" in nonsense
    http = front_desk_http(User.objects.get(email="desk@example.com"))
    html = http.get(reverse("front_desk:today"), {"page": 2}).content.decode()
    assert "?page=1#arrivals" in html and "?page=3#arrivals" in html


def test_a_long_call_list_shows_the_soonest_and_all_on_request(desk, spa, monkeypatch):
    monkeypatch.setattr(work_list, "SHORT_LIST", 2)
    for hour, name in [(11, "Cy Third"), (9, "Ann First"), (11, "Di Fourth"), (9, "Bo Second")]:
        therapist = spa.therapists[0] if name in ("Ann First", "Cy Third") else spa.therapists[1]
        appointment = book_for(ClientFactory(full_name=name), spa, hour, therapist=therapist)
        appointment.needs_follow_up = True
        appointment.save()

    def calls(**query) -> str:
        page = text(desk.get(reverse("front_desk:today"), query).content.decode())
        return page[page.index("Calls to make") : page.index("Clients owed a follow-up")]

    short = calls()
    whole = calls(whole="calls")
    assert "Calls to make 4" in short
    assert "Ann First" in short and "Bo Second" in short and "Cy Third" not in short
    assert "Show all 4 calls to make" in short
    assert all(name in whole for name in ("Ann First", "Bo Second", "Cy Third", "Di Fourth"))
    assert "Show all" not in whole
    assert desk.get(reverse("front_desk:today"), {"whole": "nonsense"}).status_code == 200


def test_the_work_list_costs_the_same_queries_however_many_arrive_today(desk, settings):
    settings.SPA_ARRIVALS_PER_PAGE = 3

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert desk.get(reverse("front_desk:today")).status_code == 200
        return len(captured)

    today = NOW.date()
    spa = open_spa(therapists=4, rooms=4, name="Swedish")
    with time_machine.travel(at(today, 7), tick=False):
        for client in ClientFactory.create_batch(4):
            book_appointment(client=client, treatment=spa.treatment, start=at(today, 9))
    few = queries()
    with time_machine.travel(at(today, 7), tick=False):
        for hour in (11, 13, 15):
            for client in ClientFactory.create_batch(4):
                book_appointment(client=client, treatment=spa.treatment, start=at(today, hour))

    assert queries() == few


def test_a_stopped_session_is_a_client_owed_a_follow_up(desk, ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana)
    appointment = book_appointment(
        client=ana,
        treatment=spa.treatment,
        start=at(NOW.date(), 9),
        therapist=spa.therapist,
        health_unchanged=True,
        by_staff=True,
    )
    record_pre_session_check(
        appointment=appointment,
        by=front_desk_user("second@example.com"),
        nothing_changed=False,
        reason="Client mentioned new numbness in the legs",
    )

    page = text(desk.get(reverse("front_desk:today")).content.decode())

    owed = page[page.index("Clients owed a follow-up") :]
    assert "Ana Example" in owed
    assert "The therapist stopped this session" in owed
    assert "numbness" not in page


def test_the_demo_has_a_front_desk_login_and_offers_every_bookable_treatment():
    call_command("seed_demo", "--allow-production", stdout=StringIO())

    desk = User.objects.get(email="desk@spa.example")
    assert desk.is_staff and desk.has_perm("appointments.use_front_desk")
    assert not desk.has_perm("screening.review_healthscreening")
    assert set(Treatment.objects.offered_online()) == set(Treatment.objects.active())


def test_the_front_desk_works_the_waitlist_in_the_admin_and_sees_no_screenings(desk, ana):
    waitlist = desk.get("/admin/appointments/waitlistentry/?day=2026-12-02")
    adding = desk.get(reverse("admin:appointments_waitlistentry_add"))
    screenings = desk.get(reverse("admin:screening_healthscreening_changelist"))

    assert (waitlist.status_code, adding.status_code) == (200, 200)
    assert screenings.status_code == 403


def test_an_unverified_front_desk_session_is_sent_to_give_its_second_factor():
    http = HttpClient()
    http.force_login(front_desk_user())

    response = http.get(reverse("front_desk:today"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor:verify"))
