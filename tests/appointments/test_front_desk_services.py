"""The front desk's services: arrivals, calls, clients added by staff and their invitation,
and refusals that say why (BookingError.code) in staff words."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client as HttpClient

from appointments.front_desk import wording
from appointments.front_desk.calls import record_call
from appointments.models import Appointment, FollowUpCall, Notice
from appointments.services import BookingError, Refusal, book_appointment
from appointments.visits import mark_arrived, mark_no_show
from clients.services import AccountError, add_client_by_staff, invite_client
from screening.eligibility import Why
from tests.factories import UserFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def staff():
    return UserFactory(email="desk@example.com", is_staff=True)


@pytest.fixture
def spa():
    return open_spa(therapists=2, rooms=2)


def today_at(spa, client, hour: int) -> Appointment:
    return book_appointment(
        client=client, treatment=spa.treatment, start=at(NOW.date(), hour), by_staff=True
    )


# Arrivals


def test_an_arrival_is_recorded_once_on_the_day(spa, ana, staff):
    appointment = today_at(spa, ana, 10)

    mark_arrived(appointment=appointment, by=staff, now=NOW)
    again = mark_arrived(appointment=appointment, by=staff, now=at(NOW.date(), 9))

    assert again.arrived_at == NOW  # the first time stands


def test_only_staff_record_an_arrival(spa, ana):
    appointment = today_at(spa, ana, 10)

    with pytest.raises(BookingError, match="Only staff"):
        mark_arrived(appointment=appointment, by=ana.user)


def test_an_arrival_is_only_recorded_on_the_day(spa, ana, staff):
    tomorrow = book_appointment(
        client=ana, treatment=spa.treatment, start=at(TOMORROW, 10), by_staff=True
    )

    with pytest.raises(BookingError, match="on the day of the appointment"):
        mark_arrived(appointment=tomorrow, by=staff)


def test_nobody_arrives_for_a_cancelled_appointment(spa, ana, staff):
    appointment = today_at(spa, ana, 10)
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled", cancelled_at=NOW)

    with pytest.raises(BookingError, match="cancelled, so nobody is expected"):
        mark_arrived(appointment=appointment, by=staff)


def test_a_client_who_arrived_is_not_a_no_show(spa, ana, staff):
    appointment = today_at(spa, ana, 9)
    mark_arrived(appointment=appointment, by=staff, now=at(NOW.date(), 8, 55))

    with pytest.raises(BookingError, match="arrived at 08:55, so this is not a no-show"):
        mark_no_show(appointment=appointment, by=staff, now=at(NOW.date(), 9, 30))


# Calls


def test_a_call_clears_the_flag_and_is_kept(spa, ana, staff):
    appointment = today_at(spa, ana, 10)
    Appointment.objects.filter(pk=appointment.pk).update(needs_follow_up=True)

    call = record_call(appointment=appointment, by=staff)

    appointment.refresh_from_db()
    assert not appointment.needs_follow_up
    assert (call.called_by, call.called_at) == (staff, NOW)
    with pytest.raises(BookingError, match="already recorded"):
        record_call(appointment=appointment, by=staff)
    assert FollowUpCall.objects.count() == 1


def test_no_call_is_recorded_where_none_is_owed(spa, ana, staff):
    appointment = today_at(spa, ana, 10)

    with pytest.raises(BookingError, match="No call is owed"):
        record_call(appointment=appointment, by=staff)


def test_only_staff_record_calls(spa, ana):
    appointment = today_at(spa, ana, 10)
    Appointment.objects.filter(pk=appointment.pk).update(needs_follow_up=True)

    with pytest.raises(BookingError, match="Only staff"):
        record_call(appointment=appointment, by=ana.user)


# Clients the front desk adds


def add(staff, **changes):
    values = {
        "full_name": "Cal Caller",
        "phone": "07700 900333",
        "email": "cal@example.com",
        "date_of_birth": datetime.date(1985, 6, 14),
        "by": staff,
    } | changes
    return add_client_by_staff(**values)


def test_a_client_added_by_staff_has_no_password_and_is_invited(staff):
    client = add(staff)

    assert not client.user.has_usable_password()
    assert client.user.is_active
    notice = Notice.objects.get()
    assert (notice.kind, notice.user) == (Notice.Kind.INVITATION, client.user)


def test_only_staff_add_clients(ana):
    with pytest.raises(AccountError, match="Only staff"):
        add(ana.user)


def test_a_client_added_without_an_email_has_a_login_nobody_can_use_or_mail(staff):
    first = add(staff, email="")
    second = add(staff, email="", full_name="Pat Phone")

    for client in (first, second):
        assert re.fullmatch(r"phone-[0-9a-f]{32}@invalid", client.user.email)
    assert first.user.email != second.user.email
    assert not Notice.objects.exists()
    with pytest.raises(AccountError, match="no email address on file"):
        invite_client(client=first, by=staff)


def test_a_date_of_birth_in_the_future_is_refused(staff):
    with pytest.raises(AccountError, match="must be in the past"):
        add(staff, date_of_birth=datetime.date(2030, 1, 1))


def test_an_invitation_is_not_owed_twice_while_one_is_on_its_way(staff):
    client = add(staff)

    assert invite_client(client=client, by=staff) is False
    deliver_owed_notices()
    assert invite_client(client=client, by=staff) is True
    assert Notice.objects.filter(kind=Notice.Kind.INVITATION).count() == 2


def _link(message) -> str:
    return re.search(r"http://testserver(/invitation/\S+/)", message.body).group(1)


def test_the_invited_client_chooses_a_password_and_can_log_in(staff, settings):
    settings.SPA_SITE_URL = "http://testserver"
    client = add(staff)
    deliver_owed_notices()

    (message,) = mail.outbox
    assert message.to == ["cal@example.com"]
    assert "http://testserver/health-screening/new/" in message.body
    browser = HttpClient()
    form = browser.get(_link(message), follow=True)
    assert "Choose your password" in form.content.decode()
    browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "barefoot-and-balanced-7", "new_password2": "barefoot-and-balanced-7"},
    )

    client.user.refresh_from_db()
    assert client.user.check_password("barefoot-and-balanced-7")
    # The link worked once.
    assert "no longer works" in HttpClient().get(_link(message), follow=True).content.decode()


def test_an_invitation_link_works_for_a_week(staff, settings):
    settings.SPA_SITE_URL = "http://testserver"
    add(staff)
    deliver_owed_notices()
    link = _link(mail.outbox[0])

    with time_machine.travel(NOW + datetime.timedelta(days=6), tick=False):
        assert "Choose your password" in HttpClient().get(link, follow=True).content.decode()
    with time_machine.travel(NOW + datetime.timedelta(days=8), tick=False):
        assert "no longer works" in HttpClient().get(link, follow=True).content.decode()


def test_an_invited_client_with_a_password_is_asked_to_log_in(staff, settings):
    settings.SPA_SITE_URL = "http://testserver"
    client = add(staff)
    client.user.set_password("barefoot-and-balanced-7")
    client.user.save()

    deliver_owed_notices()

    assert "/invitation/" not in mail.outbox[0].body
    assert "http://testserver/log-in/" in mail.outbox[0].body


# Refusals that say why


def test_a_time_the_client_is_busy_at_is_refused_with_that_reason(spa, ana):
    maya, noor = spa.therapists
    book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 10), therapist=maya)

    with pytest.raises(BookingError) as refused:
        book_appointment(
            client=ana, treatment=spa.treatment, start=at(TOMORROW, 10, 30), therapist=noor
        )

    assert refused.value.code == Refusal.CLIENT_BUSY
    # The client's own words are unchanged.
    assert refused.value.message == "That time is not available. Here are the nearest free times."


def test_a_time_nobody_is_free_at_is_refused_as_not_available(spa, ana):
    with pytest.raises(BookingError) as refused:
        book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 20))

    assert refused.value.code == Refusal.NOT_AVAILABLE


def test_the_back_walking_gate_says_which_rule_refused(ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")

    with pytest.raises(BookingError) as no_screening:
        book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 10))
    screen(ana, pregnant=True)
    with pytest.raises(BookingError) as not_eligible:
        book_appointment(client=ana, treatment=spa.treatment, start=at(TOMORROW, 10))

    assert no_screening.value.code == Why.NO_SCREENING
    assert no_screening.value.message.startswith("Before your first back-walking booking")
    assert not_eligible.value.code == Why.NOT_ELIGIBLE


def test_every_refusal_the_front_desk_can_meet_has_staff_words():
    # The client's online window never applies to staff; the client's own appointment is
    # worded with that appointment.
    not_for_staff = {Refusal.ONLINE_WINDOW, Refusal.CLIENT_BUSY}
    codes = {*Refusal, *Why} - not_for_staff

    assert codes <= set(wording.STAFF_WORDS)


def test_staff_words_name_no_health_detail():
    for words in wording.STAFF_WORDS.values():
        for detail in ("pregnan", "disc", "fracture", "surgery", "blood", "spinal"):
            assert detail not in words.lower()


def test_an_unknown_refusal_is_shown_as_the_service_worded_it():
    refusal = wording.explain(BookingError("Something new.", code="something_new"))

    assert refusal.message == "Something new."
