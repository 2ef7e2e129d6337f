"""A new health screening judges the client's upcoming back-walking appointments again.

The latest screening is the one that counts, so an appointment booked on an older,
better one must not stay confirmed until the therapist's check on the day.
"""

import datetime
import threading

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment, Qualification
from appointments.services import BookingError, book_appointment, cancel_appointment
from appointments.services.holds import Change
from screening import rules
from screening.models import HealthScreening
from screening.services import ScreeningError, approve_screening, submit_screening
from tests.concurrency import in_thread, wait_for_a_lock_waiter
from tests.factories import ClientFactory, TreatmentFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import answers, form_data, screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

IN_FIVE_DAYS = datetime.date(2026, 12, 6)  # a Sunday
NEW = reverse("screening:new")
CANNOT_GO_AHEAD = "Your new health screening means back-walking cannot go ahead on"


@pytest.fixture
def spa():
    return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


@pytest.fixture
def swedish(spa):
    treatment = TreatmentFactory(name="Swedish massage")
    for therapist in spa.therapists:
        Qualification.objects.create(therapist=therapist, treatment=treatment)
    return treatment


def book(spa, client, day=IN_FIVE_DAYS, hour=10, treatment=None) -> Appointment:
    treatment = treatment or spa.treatment
    return book_appointment(
        client=client,
        treatment=treatment,
        start=at(day, hour),
        health_unchanged=treatment.is_back_walking,
    )


def emails_sent() -> list:
    """What the outbox sends now, leaving earlier emails out."""
    mail.outbox.clear()
    deliver_owed_notices()
    return list(mail.outbox)


def fresh(appointment: Appointment) -> Appointment:
    appointment.refresh_from_db()
    return appointment


def settle_earlier_emails() -> None:
    deliver_owed_notices()
    mail.outbox.clear()


# Not eligible: cancelled by the spa, with a reason the client can read


def test_declaring_a_pregnancy_cancels_the_upcoming_back_walking_and_tells_the_client(
    spa, ana, settings
):
    screen(ana)
    appointment = book(spa, ana)
    settle_earlier_emails()

    new = screen(ana, pregnant=True)

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancelled_at == NOW
    assert appointment.cancellation_reason == (
        f"{CANNOT_GO_AHEAD} Sunday 6 December. Please call us on {settings.SPA_PHONE} "
        "to change to another treatment."
    )
    assert appointment.needs_follow_up
    assert appointment.revision == 1
    assert new.outcome == HealthScreening.Outcome.NOT_ELIGIBLE
    [email] = emails_sent()
    assert email.to == ["ana@example.com"]
    assert email.subject.endswith("is cancelled")
    assert f"{CANNOT_GO_AHEAD} Sunday 6 December" in email.body
    assert "METHOD:CANCEL" in email.attachments[0][1]
    assert "pregnan" not in email.body.lower()


def test_a_recent_fracture_cancels_only_the_appointments_before_it_has_healed(spa, ana):
    screen(ana)
    tomorrow = book(spa, ana, day=TOMORROW)
    in_five_days = book(spa, ana, day=IN_FIVE_DAYS)
    settle_earlier_emails()

    new = screen(ana, fracture_on=datetime.date(2026, 9, 11))

    assert new.eligible_from == datetime.date(2026, 12, 4)
    tomorrow, in_five_days = fresh(tomorrow), fresh(in_five_days)
    assert tomorrow.status == Appointment.Status.CANCELLED
    assert tomorrow.cancellation_reason.startswith(f"{CANNOT_GO_AHEAD} Wednesday 2 December.")
    assert in_five_days.status == Appointment.Status.CONFIRMED
    assert in_five_days.screening == new
    assert not in_five_days.needs_follow_up
    assert [email.subject.endswith("is cancelled") for email in emails_sent()] == [True]


# Needs review: held, as a booking would be


def test_a_new_screening_needing_review_holds_the_appointment_and_emails_held(spa, ana, staff_user):
    screen(ana)
    appointment = book(spa, ana)
    settle_earlier_emails()

    new = screen(ana, back_pain_under_care=True)

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert appointment.screening == new
    assert appointment.hold_expires_at == NOW + datetime.timedelta(hours=48)
    assert appointment.needs_follow_up
    assert appointment.revision == 1
    [email] = emails_sent()
    assert "held for a health review" in email.subject
    assert "We are holding this time for you" in email.body
    assert "Thursday 3 December at 08:00" in email.body
    assert "back pain" not in email.body.lower()

    approve_screening(screening=new, by=staff_user, note="Spoke to the client; safe")

    assert fresh(appointment).status == Appointment.Status.CONFIRMED


def test_a_hold_before_a_close_appointment_ends_a_few_hours_before_it(spa, ana):
    screen(ana)
    appointment = book(spa, ana, day=TOMORROW, hour=9)

    screen(ana, back_pain_under_care=True)

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert appointment.hold_expires_at == at(TOMORROW, 5)


def test_too_close_to_the_start_for_a_review_the_appointment_is_cancelled(spa, ana, settings):
    screen(ana)
    appointment = book(spa, ana, day=NOW.date(), hour=11)
    settle_earlier_emails()

    screen(ana, back_pain_under_care=True)

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancellation_reason == (
        "Our staff need to review your new health screening before back-walking, and there is "
        "not enough time for that before your appointment on Tuesday 1 December. Please call "
        f"us on {settings.SPA_PHONE} to change to another treatment or another day."
    )
    assert appointment.needs_follow_up
    assert [email.subject.endswith("is cancelled") for email in emails_sent()] == [True]


def test_a_held_appointment_is_held_again_on_a_newer_screening_needing_review(spa, ana, staff_user):
    older = screen(ana, back_pain_under_care=True)
    appointment = book(spa, ana)
    settle_earlier_emails()
    later = NOW + datetime.timedelta(hours=24)

    with time_machine.travel(later, tick=False):
        newer = screen(ana, back_pain_under_care=True, other_conditions="Also a sore knee")
        emails = emails_sent()

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert appointment.screening == newer
    assert appointment.hold_expires_at == later + datetime.timedelta(hours=48)
    assert ["held for a health review" in email.subject for email in emails] == [True]
    with pytest.raises(ScreeningError, match="newer screening"):
        approve_screening(screening=older, by=staff_user, note="Spoke to the client; safe")
    approve_screening(screening=newer, by=staff_user, note="Spoke to the client; safe")
    assert fresh(appointment).status == Appointment.Status.CONFIRMED


# Cleared: kept, or confirmed when it was held


def test_an_unchanged_cleared_screening_keeps_the_appointments_confirmed_on_it(spa, ana):
    screen(ana)
    tomorrow = book(spa, ana, day=TOMORROW)
    in_five_days = book(spa, ana, day=IN_FIVE_DAYS)
    settle_earlier_emails()

    new = screen(ana, pressure_preference=rules.Pressure.FIRM)

    for appointment in (fresh(tomorrow), fresh(in_five_days)):
        assert appointment.status == Appointment.Status.CONFIRMED
        assert appointment.screening == new
        assert appointment.revision == 0
        assert not appointment.needs_follow_up
    assert emails_sent() == []


def test_a_held_appointment_is_confirmed_by_a_new_cleared_screening(spa, ana):
    screen(ana, back_pain_under_care=True)
    appointment = book(spa, ana)
    settle_earlier_emails()

    new = screen(ana)

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.screening == new
    assert appointment.hold_expires_at is None
    assert appointment.revision == 1
    [email] = emails_sent()
    assert email.subject.startswith("Your booking at")
    assert "Your appointment is booked" in email.body
    assert "STATUS:CONFIRMED" in email.attachments[0][1]


# What is never touched


def test_other_treatments_past_and_cancelled_appointments_are_never_touched(spa, swedish, ana):
    screen(ana)
    swedish_massage = book(spa, ana, day=IN_FIVE_DAYS, hour=14, treatment=swedish)
    earlier_today = book(spa, ana, day=TOMORROW, hour=9)
    cancelled = cancel_appointment(appointment=book(spa, ana, day=IN_FIVE_DAYS))
    settle_earlier_emails()

    with time_machine.travel(at(TOMORROW, 12), tick=False):
        screen(ana, pregnant=True)

    assert (fresh(swedish_massage).status, swedish_massage.revision) == ("confirmed", 0)
    assert (fresh(earlier_today).status, earlier_today.revision) == ("confirmed", 0)
    assert (fresh(cancelled).status, cancelled.revision) == ("cancelled", 1)
    assert cancelled.cancelled_at == NOW
    assert not any(a.needs_follow_up for a in (swedish_massage, earlier_today, cancelled))
    assert emails_sent() == []


def test_another_clients_appointments_are_never_touched(spa, ana):
    bea = ClientFactory(full_name="Bea Other")
    screen(bea)
    theirs = book(spa, bea)
    screen(ana)
    settle_earlier_emails()

    screen(ana, pregnant=True)

    theirs = fresh(theirs)
    assert theirs.status == Appointment.Status.CONFIRMED
    assert theirs.revision == 0
    assert emails_sent() == []


def test_the_submission_says_what_became_of_each_appointment_in_order_of_start(spa, ana):
    screen(ana)
    book(spa, ana, day=IN_FIVE_DAYS)
    book(spa, ana, day=NOW.date(), hour=11)
    book(spa, ana, day=TOMORROW)

    submission = submit_screening(
        client=ana,
        answers=answers(back_pain_under_care=True),
        signature_name="Ana Example",
        consent=True,
    )

    assert [(r.appointment.starts_at, r.change) for r in submission.appointments] == [
        (at(NOW.date(), 11), Change.CANCELLED),
        (at(TOMORROW, 10), Change.HELD),
        (at(IN_FIVE_DAYS, 10), Change.HELD),
    ]


# Over HTTP: the client is told at once


def test_the_form_post_cancels_and_the_client_reads_why_on_the_site_and_by_email(
    spa, ana, logged_in
):
    screen(ana)
    appointment = book(spa, ana)
    settle_earlier_emails()

    response = logged_in.post(NEW, form_data(ana, pregnant="yes"), follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [(reverse("screening:mine"), 302)]
    assert (
        "Your back-walking appointment on Sunday 6 December at 10:00 is cancelled. "
        f"{CANNOT_GO_AHEAD} Sunday 6 December." in page
    )
    assert fresh(appointment).status == Appointment.Status.CANCELLED
    detail = logged_in.get(reverse("appointments:detail", args=[appointment.pk])).content.decode()
    assert f"Reason: {CANNOT_GO_AHEAD} Sunday 6 December." in detail
    [email] = emails_sent()
    assert f"Reason: {CANNOT_GO_AHEAD} Sunday 6 December." in email.body


def test_the_page_after_submitting_lists_what_was_held_and_what_was_cancelled(spa, ana, logged_in):
    screen(ana)
    close = book(spa, ana, day=NOW.date(), hour=11)
    later = book(spa, ana, day=IN_FIVE_DAYS)

    response = logged_in.post(NEW, form_data(ana, back_pain_under_care="yes"), follow=True)

    page = response.content.decode()
    assert "Our staff will review your answers" in page
    assert (
        "Your back-walking appointment on Sunday 6 December at 10:00 is on hold until our "
        "staff have reviewed your new health screening. We email you as soon as it is decided; "
        "if it is not decided by Thursday 3 December at 08:00, the hold is released." in page
    )
    assert (
        "Your back-walking appointment on Tuesday 1 December at 11:00 is cancelled. Our staff "
        "need to review your new health screening before back-walking" in page
    )
    assert "is confirmed." not in page
    assert fresh(close).status == Appointment.Status.CANCELLED
    assert fresh(later).status == Appointment.Status.PENDING_REVIEW


def test_a_held_appointment_confirmed_by_the_new_screening_is_said_to_be_confirmed(
    spa, ana, logged_in
):
    screen(ana, back_pain_under_care=True)
    appointment = book(spa, ana)

    response = logged_in.post(NEW, form_data(ana), follow=True)

    page = response.content.decode()
    assert "You are cleared for back-walking." in page
    assert "Your back-walking appointment on Sunday 6 December at 10:00 is confirmed." in page
    assert fresh(appointment).status == Appointment.Status.CONFIRMED


def test_an_unchanged_screening_says_nothing_about_appointments(spa, ana, logged_in):
    screen(ana)
    book(spa, ana)

    response = logged_in.post(NEW, form_data(ana), follow=True)

    page = response.content.decode()
    assert "You are cleared for back-walking." in page
    assert "Your back-walking appointment" not in page


def test_the_messages_follow_a_booking_in_progress(spa, ana, logged_in):
    screen(ana)
    book(spa, ana)
    booking_page = reverse("appointments:treatment", args=[spa.treatment.slug])

    response = logged_in.post(
        NEW, {**form_data(ana, pregnant="yes"), "next": booking_page}, follow=True
    )

    assert response.redirect_chain == [(booking_page, 302)]
    assert "Your back-walking appointment on Sunday 6 December at 10:00 is cancelled." in (
        response.content.decode()
    )


# The therapist's schedule shows the outcome


def test_the_therapists_day_shows_the_held_and_cancelled_appointments_for_follow_up(spa, ana):
    screen(ana)
    held = book(spa, ana, day=IN_FIVE_DAYS, hour=10)
    cancelled = book(spa, ana, day=NOW.date(), hour=11)
    screen(ana, back_pain_under_care=True)
    held, cancelled = fresh(held), fresh(cancelled)
    pages = []
    for appointment in (held, cancelled):
        http = force_login_verified(HttpClient(), appointment.therapist.user)
        day = appointment.starts_at.date().isoformat()  # London in winter is UTC
        for response in (
            http.get(reverse("schedule:day"), {"date": day}),
            http.get(reverse("schedule:week"), {"date": day}),
            http.get(reverse("schedule:appointment", args=[appointment.pk])),
        ):
            assert response.status_code == 200
            pages.append((appointment, response.content.decode()))

    for appointment, html in pages:
        assert "Staff follow-up" in html
        assert appointment.get_status_display() in html


# Races, on real concurrent connections


@pytest.mark.django_db(transaction=True)
def test_a_booking_waiting_for_a_screening_being_submitted_is_judged_on_the_new_one(spa, ana):
    screen(ana)

    with transaction.atomic():
        screen(ana, pregnant=True)
        thread, result = in_thread(lambda: book(spa, ana))
        wait_for_a_lock_waiter()
    thread.join(timeout=30)

    assert isinstance(result.get("error"), BookingError), result
    assert "not safe for you" in result["error"].message
    assert not Appointment.objects.exclude(status=Appointment.Status.CANCELLED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_screening_waiting_for_a_booking_in_progress_judges_that_booking_too(spa, ana):
    screen(ana)
    booked = threading.Event()

    def book_and_hold_the_client() -> Appointment:
        with transaction.atomic():
            appointment = book(spa, ana)
            booked.set()
            wait_for_a_lock_waiter()
        return appointment

    thread, result = in_thread(book_and_hold_the_client)
    assert booked.wait(timeout=30)
    screen(ana, pregnant=True)
    thread.join(timeout=30)

    appointment = fresh(result["value"])
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancellation_reason.startswith(CANNOT_GO_AHEAD)
