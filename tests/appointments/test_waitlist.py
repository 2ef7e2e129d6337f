"""The waitlist: joining, a freed time offered to those it fits, in order, the link that
books it, expiry, the back-walking gate, and no health data in the emails.

The spa: Maya works 10:00-13:00 every day and gives a Swedish massage (60 minutes + 15)
and hot stones (90 + 15); Jo gives both too but works on Mondays only. Two Swedish
massages (10:00 and 11:15) fill Friday 4 December for both treatments. When the 10:00 one
is cancelled, 10:00-11:15 is free: a Swedish massage fits, hot stones do not.
"""

import datetime
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments import free_times, waitlist
from appointments.forms import format_start
from appointments.models import (
    Appointment,
    FreedTime,
    Notice,
    Qualification,
    Therapist,
    Treatment,
    WaitlistEntry,
    WaitlistOffer,
)
from appointments.services import (
    BookingError,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from clients.models import Client
from tests.factories import ClientFactory, RoomFactory, TherapistFactory, TreatmentFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, work
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DAY = datetime.date(2026, 12, 4)  # a Friday, three days after NOW
OFFER_LINK = re.compile(r"https?://\S+(/waitlist/offers/[\w-]+/)")


@dataclass
class Spa:
    swedish: Treatment
    stones: Treatment
    maya: Therapist
    jo: Therapist


def open_waitlist_spa() -> Spa:
    RoomFactory()
    swedish = TreatmentFactory(name="Swedish massage", duration_minutes=60, buffer_minutes=15)
    stones = TreatmentFactory(name="Hot stones", duration_minutes=90, buffer_minutes=15)
    maya = TherapistFactory(display_name="Maya")
    jo = TherapistFactory(display_name="Jo")
    work(maya, "10:00", "13:00")
    work(jo, "10:00", "13:00", days=[0])
    for therapist in (maya, jo):
        for treatment in (swedish, stones):
            Qualification.objects.create(therapist=therapist, treatment=treatment)
    return Spa(swedish=swedish, stones=stones, maya=maya, jo=jo)


@pytest.fixture
def spa(db) -> Spa:
    return open_waitlist_spa()


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A wall-clock time at the spa (daylight saving included)."""
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=ZoneInfo(settings.TIME_ZONE)
    )


def free_starts(treatment: Treatment, day: datetime.date = DAY) -> list[datetime.datetime]:
    return [
        slot.start
        for slot in free_times.free_slots(treatment=treatment, first_day=day, last_day=day)
    ]


def fill_the_day(spa: Spa, day: datetime.date = DAY) -> Appointment:
    """Book Friday full with two Swedish massages; returns the 10:00 one (Bea's)."""
    bea = ClientFactory(full_name="Bea Booked", user__email="bea@example.com")
    first = book_appointment(
        client=bea, treatment=spa.swedish, start=local(day, 10), therapist=spa.maya
    )
    book_appointment(
        client=ClientFactory(), treatment=spa.swedish, start=local(day, 11, 15), therapist=spa.maya
    )
    assert free_starts(spa.swedish, day) == free_starts(spa.stones, day) == []
    deliver_owed_notices()
    mail.outbox.clear()
    return first


def wait(client: Client, treatment: Treatment, first=DAY, last=None, therapist=None):
    return waitlist.join_waitlist(
        client=client,
        treatment=treatment,
        first_day=first,
        last_day=last or first,
        therapist=therapist,
    )


def cancel_and_send(appointment: Appointment) -> list[mail.EmailMessage]:
    """The client cancels; the sender runs; the waitlist emails sent, in order."""
    cancel_appointment(appointment=appointment)
    deliver_owed_notices()
    return [m for m in mail.outbox if m.subject.startswith("A time came free")]


def link_in(message: mail.EmailMessage) -> str:
    return OFFER_LINK.search(message.body).group(1)


def logged_in_as(client: Client) -> HttpClient:
    http = HttpClient()
    http.force_login(client.user)
    return http


# -- joining ---------------------------------------------------------------------------------


def test_a_client_on_a_full_day_joins_its_waitlist_and_sees_it_in_my_appointments(
    spa, ana, logged_in
):
    fill_the_day(spa)
    day_page = logged_in.get(reverse("appointments:day", args=[spa.swedish.slug, DAY]))
    assert "Join the waitlist for this day" in day_page.content.decode()

    response = logged_in.post(
        reverse("appointments:waitlist_join", args=[spa.swedish.slug]),
        {"first_day": DAY.isoformat(), "therapist": "any"},
        follow=True,
    )

    entry = WaitlistEntry.objects.get()
    assert (entry.client, entry.treatment, entry.first_day, entry.last_day) == (
        ana,
        spa.swedish,
        DAY,
        DAY,
    )
    assert (entry.therapist, entry.created_by, entry.state) == (None, None, "waiting")
    html = response.content.decode()
    assert "You are on the waitlist for Swedish massage on Friday 4 December" in html
    assert "Leave the waitlist" in html


def test_a_day_with_free_times_offers_them_not_the_waitlist(spa, logged_in):
    html = logged_in.get(reverse("appointments:day", args=[spa.swedish.slug, DAY])).content
    assert b"Join the waitlist for this day" not in html


def test_the_treatment_page_offers_a_range_of_days_and_guests_log_in_first(spa, client, logged_in):
    page = reverse("appointments:treatment", args=[spa.swedish.slug])
    assert 'name="last_day"' in logged_in.get(page).content.decode()
    guest = client.get(page).content.decode()
    assert "Log in to join the waitlist" in guest
    assert 'name="last_day"' not in guest


def test_a_guest_posting_the_form_is_sent_to_log_in(spa, client):
    url = reverse("appointments:waitlist_join", args=[spa.swedish.slug])
    response = client.post(url, {"first_day": DAY.isoformat()})

    assert response.status_code == 302
    assert response.url.startswith(reverse("clients:login"))
    assert not WaitlistEntry.objects.exists()


def test_a_range_of_days_and_a_therapist_can_be_asked_for(spa, ana, logged_in):
    logged_in.post(
        reverse("appointments:waitlist_join", args=[spa.swedish.slug]),
        {"first_day": "2026-12-03", "last_day": "2026-12-06", "therapist": spa.maya.pk},
    )

    entry = WaitlistEntry.objects.get()
    assert (entry.first_day, entry.last_day, entry.therapist) == (
        datetime.date(2026, 12, 3),
        datetime.date(2026, 12, 6),
        spa.maya,
    )


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-12-05", "2026-12-04", "The last day cannot be before the first day."),
        ("2026-11-30", "2026-12-04", "You can wait for days from Tuesday 1 December"),
        ("2026-12-04", "2027-03-01", "You can wait for days from Tuesday 1 December"),
    ],
)
def test_days_that_cannot_be_booked_are_refused_and_nothing_is_saved(
    spa, logged_in, first, last, message
):
    response = logged_in.post(
        reverse("appointments:waitlist_join", args=[spa.swedish.slug]),
        {"first_day": first, "last_day": last},
        follow=True,
    )

    assert message in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_waiting_twice_for_overlapping_days_is_refused_kindly(spa, ana):
    wait(ana, spa.swedish, DAY, DAY + datetime.timedelta(days=2))

    with pytest.raises(BookingError, match="already on the waitlist for Swedish massage"):
        wait(ana, spa.swedish, DAY + datetime.timedelta(days=1))
    wait(ana, spa.stones, DAY)  # another treatment is another wait
    wait(ana, spa.swedish, DAY + datetime.timedelta(days=3))  # and so are other days
    assert WaitlistEntry.objects.count() == 3


def test_a_therapist_who_does_not_give_the_treatment_is_refused(spa, ana):
    Qualification.objects.filter(therapist=spa.jo, treatment=spa.stones).delete()

    with pytest.raises(BookingError, match="Jo does not give Hot stones"):
        wait(ana, spa.stones, therapist=spa.jo)


def test_a_seventeen_year_old_cannot_wait_for_back_walking(spa, theo):
    spa.swedish.is_back_walking = True
    spa.swedish.save()

    with pytest.raises(BookingError, match="your 18th birthday"):
        wait(theo, spa.swedish)
    assert not WaitlistEntry.objects.exists()


def test_leaving_the_waitlist(spa, ana, logged_in):
    entry = wait(ana, spa.swedish)

    response = logged_in.post(reverse("appointments:waitlist_leave", args=[entry.pk]), follow=True)

    entry.refresh_from_db()
    assert entry.state == WaitlistEntry.State.WITHDRAWN
    assert "You have left the waitlist for Swedish massage" in response.content.decode()
    assert "Leave the waitlist" not in response.content.decode()


def test_another_clients_wait_cannot_be_left(spa, ana):
    entry = wait(ana, spa.swedish)
    other = logged_in_as(ClientFactory())

    response = other.post(reverse("appointments:waitlist_leave", args=[entry.pk]))

    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.is_active


# -- what PostgreSQL refuses -----------------------------------------------------------------


def entry_row(client, treatment, first, last, **fields) -> WaitlistEntry:
    with transaction.atomic():
        return WaitlistEntry.objects.create(
            client=client, treatment=treatment, first_day=first, last_day=last, **fields
        )


def test_postgres_refuses_two_active_waits_over_the_same_day_but_not_an_ended_one(spa, ana):
    first = entry_row(ana, spa.swedish, DAY, DAY + datetime.timedelta(days=2))

    with pytest.raises(IntegrityError, match="appointments_waitlistentry_no_overlapping_wait"):
        entry_row(ana, spa.swedish, DAY + datetime.timedelta(days=2), DAY + datetime.timedelta(3))
    entry_row(ana, spa.swedish, DAY + datetime.timedelta(days=3), DAY + datetime.timedelta(3))
    entry_row(ana, spa.stones, DAY, DAY)
    entry_row(ClientFactory(), spa.swedish, DAY, DAY)

    first.state = WaitlistEntry.State.WITHDRAWN
    first.save()
    entry_row(ana, spa.swedish, DAY, DAY)


def test_postgres_refuses_a_last_day_before_the_first(spa, ana):
    with pytest.raises(IntegrityError, match="last_day_not_before_first"):
        entry_row(ana, spa.swedish, DAY, DAY - datetime.timedelta(days=1))
    entry_row(ana, spa.swedish, DAY, DAY)


def test_postgres_refuses_booked_without_its_appointment_and_an_appointment_unbooked(spa, ana):
    appointment = book_appointment(client=ana, treatment=spa.swedish, start=local(DAY, 10))

    with pytest.raises(IntegrityError, match="booked_with_its_appointment"):
        entry_row(ana, spa.swedish, DAY, DAY, state="booked")
    with pytest.raises(IntegrityError, match="booked_with_its_appointment"):
        entry_row(ana, spa.swedish, DAY, DAY, appointment=appointment)
    entry_row(ana, spa.swedish, DAY, DAY, state="booked", appointment=appointment)


def test_postgres_refuses_a_waitlist_email_about_anything_but_an_offer(spa, ana):
    appointment = book_appointment(client=ana, treatment=spa.swedish, start=local(DAY, 10))
    entry = entry_row(ClientFactory(), spa.swedish, DAY, DAY)
    offer = WaitlistOffer.objects.create(
        entry=entry, starts_at=local(DAY, 10), expires_at=NOW + datetime.timedelta(hours=1)
    )

    for wrong in (
        {"kind": "waitlist_offer", "appointment": appointment, "revision": 7},
        {"kind": "confirmation", "waitlist_offer": offer, "revision": 0},
        {"kind": "waitlist_offer", "waitlist_offer": offer, "appointment": appointment},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Notice.objects.create(**{"revision": 0, **wrong})
    Notice.objects.create(kind="waitlist_offer", waitlist_offer=offer, revision=0)


def test_postgres_refuses_an_offer_that_expires_before_it_is_made(spa, ana):
    entry = entry_row(ana, spa.swedish, DAY, DAY)

    with pytest.raises(IntegrityError, match="expires_after_it_is_made"), transaction.atomic():
        WaitlistOffer.objects.create(entry=entry, starts_at=local(DAY, 10), expires_at=NOW)
    WaitlistOffer.objects.create(
        entry=entry, starts_at=local(DAY, 10), expires_at=NOW + datetime.timedelta(minutes=1)
    )


# -- a time comes free -----------------------------------------------------------------------


def test_a_cancellation_offers_the_time_to_a_client_waiting_for_a_treatment_that_fits(spa, ana):
    bea = fill_the_day(spa)
    entry = wait(ana, spa.swedish)

    [email] = cancel_and_send(bea)

    assert email.to == ["ana@example.com"]
    assert email.subject == "A time came free: Swedish massage on Friday 4 December at 10:00"
    assert "Swedish massage\n  Friday 4 December 2026 at 10:00" in email.body
    offer = WaitlistOffer.objects.get()
    assert (offer.entry, offer.starts_at) == (entry, local(DAY, 10))
    assert link_in(email) == reverse("appointments:waitlist_offer", args=[offer.token])
    assert email.extra_headers["Message-ID"].startswith("<notice-")
    entry.refresh_from_db()
    assert entry.state == WaitlistEntry.State.OFFERED


def test_a_treatment_that_does_not_fit_the_freed_time_is_not_offered_it(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.stones)  # 90 minutes and a buffer: 10:00-11:45 meets the 11:15 massage

    assert cancel_and_send(bea) == []
    assert not WaitlistOffer.objects.exists()
    assert FreedTime.objects.get().handled_at == NOW


def test_a_freed_time_can_fit_another_treatment_than_the_one_cancelled(spa, ana):
    bea = fill_the_day(spa)
    Appointment.objects.filter(starts_at=local(DAY, 11, 15)).update(
        status="cancelled", cancelled_at=NOW
    )  # the later massage was cancelled before anyone waited: 10:00-13:00 is all Bea's
    wait(ana, spa.stones)

    [email] = cancel_and_send(bea)

    assert email.to == ["ana@example.com"]
    assert "Hot stones" in email.subject


def test_only_those_waiting_for_that_therapist_or_any_are_offered_their_time(spa):
    bea = fill_the_day(spa)
    for_jo = wait(ClientFactory(user__email="jo.fan@example.com"), spa.swedish, therapist=spa.jo)
    wait(ClientFactory(user__email="maya.fan@example.com"), spa.swedish, therapist=spa.maya)
    wait(ClientFactory(user__email="anyone@example.com"), spa.swedish)

    sent = cancel_and_send(bea)

    assert [email.to for email in sent] == [["maya.fan@example.com"], ["anyone@example.com"]]
    assert "with Maya" in sent[0].body
    assert "with " not in sent[1].body.split("Book it here")[0]
    assert not for_jo.offers.exists()


def test_a_range_of_days_is_offered_a_time_inside_it_only(spa):
    bea = fill_the_day(spa)
    wait(
        ClientFactory(user__email="around@example.com"),
        spa.swedish,
        DAY - datetime.timedelta(1),
        DAY + datetime.timedelta(1),
    )
    wait(
        ClientFactory(user__email="after@example.com"),
        spa.swedish,
        DAY + datetime.timedelta(1),
        DAY + datetime.timedelta(5),
    )
    wait(
        ClientFactory(user__email="before@example.com"),
        spa.swedish,
        DAY - datetime.timedelta(2),
        DAY - datetime.timedelta(1),
    )

    assert [email.to for email in cancel_and_send(bea)] == [["around@example.com"]]


def test_everyone_waiting_is_emailed_at_once_in_the_order_they_joined(spa):
    bea = fill_the_day(spa)
    people = ["first@example.com", "second@example.com", "third@example.com"]
    for minutes, email in enumerate(people):
        with time_machine.travel(NOW + datetime.timedelta(minutes=minutes), tick=False):
            wait(ClientFactory(user__email=email), spa.swedish)

    sent = cancel_and_send(bea)

    assert [email.to[0] for email in sent] == people
    offers = WaitlistOffer.objects.order_by("pk")
    assert [offer.entry.client.user.email for offer in offers] == people
    assert {offer.created_at for offer in offers} == {NOW}


def test_a_move_frees_the_time_it_leaves(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)

    reschedule_appointment(appointment=bea, start=local(DAY + datetime.timedelta(days=1), 10))
    deliver_owed_notices()

    offered = [m for m in mail.outbox if m.subject.startswith("A time came free")]
    assert [m.to for m in offered] == [["ana@example.com"]]
    assert WaitlistOffer.objects.get().starts_at == local(DAY, 10)


def test_the_spa_cancelling_frees_the_time_too(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)

    cancel_appointment(appointment=bea, reason="Therapist ill", by_staff=True)
    deliver_owed_notices()

    assert WaitlistOffer.objects.filter(entry__client=ana).count() == 1


def test_a_cancellation_nobody_waits_for_writes_nothing_more(spa, ana, django_assert_num_queries):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish, DAY + datetime.timedelta(days=1))  # another day

    with django_assert_num_queries(1):
        waitlist.time_freed(appointment=bea, now=NOW)
    cancel_appointment(appointment=bea)

    assert not FreedTime.objects.exists()


def test_a_freed_time_is_offered_once_however_often_the_sender_runs(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    cancel_and_send(bea)

    deliver_owed_notices()
    deliver_owed_notices()

    assert WaitlistOffer.objects.count() == 1
    assert len(mail.outbox) == 2  # Bea's cancellation and Ana's offer


def test_a_time_freed_twice_is_not_offered_twice_while_the_first_link_works(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    cancel_and_send(bea)
    again = book_appointment(
        client=ClientFactory(), treatment=spa.swedish, start=local(DAY, 10), therapist=spa.maya
    )

    cancel_and_send(again)

    assert WaitlistOffer.objects.count() == 1


def test_the_client_who_gave_the_time_up_is_not_offered_it(spa):
    bea = fill_the_day(spa)
    wait(bea.client, spa.stones)  # Bea also hopes for hot stones that day
    Appointment.objects.filter(starts_at=local(DAY, 11, 15)).update(
        status="cancelled", cancelled_at=NOW
    )

    assert cancel_and_send(bea) == []


def test_a_client_booked_meanwhile_is_not_offered_and_their_wait_ends(spa, ana):
    bea = fill_the_day(spa)
    entry = wait(ana, spa.swedish, DAY, DAY + datetime.timedelta(days=1))
    booked = book_appointment(  # the front desk found her a time the next day
        client=ana,
        treatment=spa.swedish,
        start=local(DAY + datetime.timedelta(days=1), 10),
        by_staff=True,
    )

    offers = cancel_and_send(bea)

    assert [m.to for m in offers] == []
    entry.refresh_from_db()
    assert (entry.state, entry.appointment) == (WaitlistEntry.State.BOOKED, booked)


def test_waits_whose_last_day_passed_end_as_expired(spa, ana):
    entry = wait(ana, spa.swedish, DAY)

    with time_machine.travel(local(DAY, 23, 59), tick=False):
        waitlist.offer_freed_times()
    entry.refresh_from_db()
    assert entry.state == WaitlistEntry.State.WAITING

    with time_machine.travel(local(DAY + datetime.timedelta(days=1), 0, 1), tick=False):
        waitlist.offer_freed_times()
    entry.refresh_from_db()
    assert entry.state == WaitlistEntry.State.EXPIRED


def test_a_client_who_left_is_not_emailed_even_when_the_offer_was_already_made(spa, ana):
    bea = fill_the_day(spa)
    entry = wait(ana, spa.swedish)
    cancel_appointment(appointment=bea)
    waitlist.offer_freed_times()  # the offer is made; its email not sent yet

    waitlist.leave_waitlist(entry=entry)
    report = deliver_owed_notices()

    assert report.skipped == 1
    assert not [m for m in mail.outbox if m.to == ["ana@example.com"]]


def test_an_offer_whose_time_was_taken_before_the_email_left_is_skipped(spa, ana):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    cancel_appointment(appointment=bea)
    waitlist.offer_freed_times()
    book_appointment(client=ClientFactory(), treatment=spa.swedish, start=local(DAY, 10))

    deliver_owed_notices()

    notice = Notice.objects.get(kind=Notice.Kind.WAITLIST_OFFER)
    assert (notice.sent_at, notice.skipped_at) == (None, NOW)
    assert not [m for m in mail.outbox if m.to == ["ana@example.com"]]


# -- the link --------------------------------------------------------------------------------


def test_the_link_opens_the_confirm_page_and_booking_there_ends_the_wait(spa, ana, logged_in):
    bea = fill_the_day(spa)
    entry = wait(ana, spa.swedish)
    [email] = cancel_and_send(bea)

    response = logged_in.get(link_in(email), follow=True)

    assert response.redirect_chain[-1][0].startswith(
        reverse("appointments:book", args=[spa.swedish.slug])
    )
    html = response.content.decode()
    assert "This time is still free" in html
    assert "Confirm booking" in html
    booked = logged_in.post(
        reverse("appointments:book", args=[spa.swedish.slug]),
        {"start": format_start(local(DAY, 10)), "therapist": "any"},
    )
    appointment = Appointment.objects.get(client=ana)
    assert booked.url == reverse("appointments:booked", args=[appointment.pk])
    entry.refresh_from_db()
    assert (entry.state, entry.appointment) == (WaitlistEntry.State.BOOKED, appointment)


def test_a_taken_time_says_so_kindly_and_offers_the_days_other_free_times(spa, ana, logged_in):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    [email] = cancel_and_send(bea)
    # Someone else was quicker; and an 11:15 came free as well meanwhile.
    book_appointment(client=ClientFactory(), treatment=spa.swedish, start=local(DAY, 10))
    Appointment.objects.filter(starts_at=local(DAY, 11, 15)).update(
        status="cancelled", cancelled_at=NOW
    )

    response = logged_in.get(link_in(email))

    html = response.content.decode()
    assert response.status_code == 200
    assert "this time has been booked by someone else" in html
    assert "Other free times on Friday 4 December" in html
    assert f"start={format_start(local(DAY, 11, 15))}" in html
    assert "You are still on the waitlist for Swedish massage" in html


def test_an_expired_link_says_so(spa, ana, logged_in):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    [email] = cancel_and_send(bea)
    offer = WaitlistOffer.objects.get()
    assert offer.expires_at == NOW + waitlist.OFFER_VALID

    with time_machine.travel(offer.expires_at, tick=False):
        response = logged_in.get(link_in(email))

    assert "this link has expired" in response.content.decode()
    assert f"start={format_start(local(DAY, 10))}" in response.content.decode()  # still free


def test_a_link_never_outlives_online_booking_of_its_time(spa, ana):
    tomorrow = DAY - datetime.timedelta(days=2)
    bea = fill_the_day(spa, tomorrow)
    wait(ana, spa.swedish, tomorrow)
    cancel_appointment(appointment=bea, by_staff=True)  # inside the window: the spa does it

    deliver_owed_notices()

    assert WaitlistOffer.objects.get().expires_at == local(tomorrow, 8)  # two hours' notice


def test_another_clients_link_is_not_found_and_a_guest_logs_in_first(spa, ana, client):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    [email] = cancel_and_send(bea)
    link = link_in(email)

    assert logged_in_as(ClientFactory()).get(link).status_code == 404
    guest = client.get(link)
    assert guest.status_code == 302
    assert guest.url == f"{reverse('clients:login')}?next={link}"


# -- the back-walking gate -------------------------------------------------------------------


def back_walking(spa: Spa) -> Treatment:
    spa.swedish.is_back_walking = True
    spa.swedish.name = "Ashiatsu back-walking"
    spa.swedish.save()
    return spa.swedish


def test_a_seventeen_year_old_waiting_for_back_walking_is_never_offered_nor_booked(spa, theo):
    bea = fill_the_day(spa)
    treatment = back_walking(spa)
    # How he came to wait does not matter (a date of birth corrected since, say).
    entry = entry_row(theo, treatment, DAY, DAY)

    assert cancel_and_send(bea) == []
    assert not entry.offers.exists()
    response = logged_in_as(theo).post(
        reverse("appointments:book", args=[treatment.slug]),
        {"start": format_start(local(DAY, 10)), "therapist": "any", "health_changed": "no"},
    )
    assert response.status_code == 409
    assert "only for adults aged 18 and over" in response.content.decode()
    assert not Appointment.objects.filter(client=theo).exists()


def test_back_walking_from_the_link_asks_for_the_health_confirmation_first(spa, ana, logged_in):
    bea = fill_the_day(spa)
    treatment = back_walking(spa)
    screen(ana)
    entry = wait(ana, treatment)
    [email] = cancel_and_send(bea)

    confirm = logged_in.get(link_in(email), follow=True).content.decode()
    assert "Has anything in your health changed since your health screening" in confirm
    book_url = reverse("appointments:book", args=[treatment.slug])
    form = {"start": format_start(local(DAY, 10)), "therapist": "any"}

    refused = logged_in.post(book_url, form)
    assert refused.status_code == 409
    assert "Please confirm that nothing in your health has changed" in refused.content.decode()
    logged_in.post(book_url, {**form, "health_changed": "no"})

    appointment = Appointment.objects.get(client=ana)
    assert appointment.screening is not None
    entry.refresh_from_db()
    assert entry.appointment == appointment


def test_no_health_data_in_the_waitlist_email(spa, dara):
    bea = fill_the_day(spa)
    treatment = back_walking(spa)
    wait(dara, treatment)

    [email] = cancel_and_send(bea)

    assert email.to == ["dara@example.com"]
    text = f"{email.subject}\n{email.body}".lower()
    for health_word in ("pain", "physio", "screening", "review", "health", "doctor"):
        assert health_word not in text
    assert str(WaitlistEntry.objects.get()) == f"Waitlist entry #{WaitlistEntry.objects.get().pk}"


# -- staff -----------------------------------------------------------------------------------


def test_the_front_desk_adds_a_caller_in_the_admin(spa, ana, staff_http, staff_user):
    response = staff_http.post(
        reverse("admin:appointments_waitlistentry_add"),
        {
            "client": ana.pk,
            "treatment": spa.swedish.pk,
            "therapist": "",
            "first_day": DAY.isoformat(),
            "last_day": (DAY + datetime.timedelta(days=1)).isoformat(),
            "offers-TOTAL_FORMS": "0",
            "offers-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = WaitlistEntry.objects.get()
    assert (entry.client, entry.created_by, entry.state) == (ana, staff_user, "waiting")


def test_the_admin_refuses_what_the_service_refuses(spa, theo, staff_http):
    back_walking(spa)

    response = staff_http.post(
        reverse("admin:appointments_waitlistentry_add"),
        {
            "client": theo.pk,
            "treatment": spa.swedish.pk,
            "first_day": DAY.isoformat(),
            "last_day": DAY.isoformat(),
        },
    )

    assert response.status_code == 200
    assert "18th birthday" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_staff_see_who_waits_on_a_day_and_the_times_offered_never_the_link(spa, ana, staff_http):
    bea = fill_the_day(spa)
    wait(ana, spa.swedish)
    wait(ClientFactory(full_name="Ola Otherday"), spa.swedish, DAY + datetime.timedelta(days=1))
    cancel_and_send(bea)

    listing = staff_http.get(waitlist.staff_day_url(DAY)).content.decode()
    assert "Ana Example" in listing
    assert "Ola Otherday" not in listing

    offer = WaitlistOffer.objects.get()
    page = staff_http.get(
        reverse("admin:appointments_waitlistentry_change", args=[offer.entry.pk])
    ).content.decode()
    assert "4 Dec 2026, 10 a.m." in page  # the time offered
    assert offer.token not in page


def test_my_appointments_costs_the_same_queries_however_many_waits(spa, ana, logged_in):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get(reverse("appointments:mine")).status_code == 200
        return len(captured)

    wait(ana, spa.swedish)
    one = queries()
    wait(ana, spa.stones, therapist=spa.jo)
    wait(ana, spa.swedish, DAY + datetime.timedelta(days=2))

    assert queries() == one


# -- a booking ends the waits it answers (waitlist.settle_booking) --------------------------


def test_a_booking_ends_exactly_the_waits_waiting_on_its_day_for_its_treatment(spa, ana):
    """settle_booking is SQL of its own: it ends the rows waiting_on() names, and no other."""
    day_before, day_after = DAY - datetime.timedelta(days=1), DAY + datetime.timedelta(days=1)
    answered = wait(ana, spa.swedish, day_before, day_after)  # its days include the day
    answered.state = WaitlistEntry.State.OFFERED  # emailed a time already: still waiting
    answered.save(update_fields=["state"])
    left_alone = [
        wait(ana, spa.swedish, DAY + datetime.timedelta(days=2)),  # another day
        wait(ana, spa.stones, DAY),  # another treatment
        wait(ClientFactory(), spa.swedish, DAY),  # another client
        WaitlistEntry.objects.create(  # a wait for the day that already ended
            client=ana,
            treatment=spa.swedish,
            first_day=DAY,
            last_day=DAY,
            state=WaitlistEntry.State.WITHDRAWN,
        ),
    ]
    assert list(
        WaitlistEntry.objects.waiting_on(DAY).filter(client=ana, treatment=spa.swedish)
    ) == [answered]

    booked = book_appointment(
        client=ana, treatment=spa.swedish, start=local(DAY, 10), therapist=spa.maya
    )

    answered.refresh_from_db()
    assert (answered.state, answered.appointment) == (WaitlistEntry.State.BOOKED, booked)
    assert answered.updated_at == booked.created_at
    for entry in left_alone:
        before = entry.state
        entry.refresh_from_db()
        assert (entry.state, entry.appointment) == (before, None)
