"""The back-walking gate holds for the whole life of a booking, not only when it is made.

Every change to an input of the verdict (a new screening, a staff decision, a
therapist's stop, a date of birth correction, a treatment change, a hold running
out) judges the client's upcoming back-walking again in the same transaction.
The numbered cases are the ones found by trying the product as an attacker would.
"""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment, Qualification
from appointments.services import BookingError, book_appointment
from appointments.services.holds import release_expired_holds
from appointments.visits import complete_appointment, record_pre_session_check
from clients.services import AccountError, correct_date_of_birth
from screening.models import HealthScreening
from screening.services import (
    ScreeningError,
    approve_screening,
    clear_on_doctors_note,
    decline_screening,
)
from tests.clients.test_admin import admin_change_data
from tests.concurrency import in_thread, wait_for_a_lock_waiter
from tests.conftest import reviewers_group
from tests.factories import ClientFactory, TreatmentFactory, UserFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import decide, review_url, screen, version_1_answers
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

IN_FIVE_DAYS = datetime.date(2026, 12, 6)  # a Sunday
TODAY = NOW.date()


@pytest.fixture
def spa():
    return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


def book(spa, client, day=IN_FIVE_DAYS, hour=10, therapist=None) -> Appointment:
    return book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(day, hour),
        therapist=therapist,
        health_unchanged=True,
    )


def fresh(appointment: Appointment) -> Appointment:
    appointment.refresh_from_db()
    return appointment


def emails_sent() -> list:
    mail.outbox.clear()
    deliver_owed_notices()
    return list(mail.outbox)


def stop_session(appointment: Appointment, reason: str = "Client felt dizzy on the table"):
    with time_machine.travel(appointment.starts_at - datetime.timedelta(minutes=30), tick=False):
        return record_pre_session_check(
            appointment=appointment,
            by=appointment.therapist.user,
            nothing_changed=False,
            reason=reason,
        )


# 1. A therapist's stop, then a decline: the client's other booking does not stay confirmed


def test_a_stop_holds_the_clients_other_back_walking_and_a_decline_cancels_it(spa, ana, reviewer):
    screen(ana)
    today = book(spa, ana, day=TODAY, hour=11)
    later = book(spa, ana, day=IN_FIVE_DAYS)

    stop_session(today)

    later = fresh(later)
    assert later.status == Appointment.Status.PENDING_REVIEW
    assert later.needs_follow_up
    assert later.hold_expires_at is not None
    today = fresh(today)
    assert today.status == Appointment.Status.CANCELLED  # stopped: it does not go ahead
    assert today.cancellation_reason.startswith("Your therapist stopped this session")
    assert "dizzy" not in today.cancellation_reason.lower()

    with time_machine.travel(NOW + datetime.timedelta(hours=3), tick=False):
        deliver_owed_notices()  # the stop's: the stopped session cancelled, the other held
        decline_screening(
            screening=later.screening, by=reviewer, note="Dizziness needs a doctor's view"
        )
        [email] = emails_sent_about(later)

    later = fresh(later)
    assert later.status == Appointment.Status.CANCELLED
    assert later.needs_follow_up
    assert later.cancellation_reason.startswith(
        "We have cancelled this appointment because your health screening no longer clears "
        "you for back-walking on Sunday 6 December."
    )
    assert "is cancelled" in email.subject
    assert "dizzy" not in email.body.lower()


def emails_sent_about(appointment: Appointment) -> list:
    return [email for email in emails_sent() if "appointment" in email.subject]


def test_the_therapist_cannot_check_or_complete_a_booking_the_gate_no_longer_clears(
    spa, ana, reviewer
):
    """The door is the second line: it refuses even when something slipped past the first."""
    screening = screen(ana)
    appointment = book(spa, ana, day=TODAY, hour=11)
    # As if the first line had missed it: the screening waits for staff again.
    HealthScreening.objects.filter(pk=screening.pk).update(review=HealthScreening.Review.PENDING)

    with (
        time_machine.travel(at(TODAY, 10, 45), tick=False),
        pytest.raises(BookingError, match="does not clear back-walking today"),
    ):
        record_pre_session_check(
            appointment=appointment, by=appointment.therapist.user, nothing_changed=True
        )
    assert not hasattr(fresh(appointment), "pre_session_check")


def test_completed_checks_the_gate_once_more(spa, ana):
    screen(ana)
    appointment = book(spa, ana, day=TODAY, hour=11)
    with time_machine.travel(at(TODAY, 10, 45), tick=False):
        record_pre_session_check(
            appointment=appointment, by=appointment.therapist.user, nothing_changed=True
        )
    with (
        time_machine.travel(at(TODAY, 12), tick=False),
        pytest.raises(BookingError, match="under 18"),
        transaction.atomic(),  # rolled back: PostgreSQL's own age check never sees it
    ):
        # As if the date of birth had been changed behind the services' back.
        type(ana).objects.filter(pk=ana.pk).update(date_of_birth=datetime.date(2010, 1, 1))
        complete_appointment(appointment=appointment, by=appointment.therapist.user)
    assert fresh(appointment).status == Appointment.Status.CONFIRMED


# 2. A date of birth correction: a 16-year-old keeps no back-walking


def test_correcting_the_date_of_birth_to_16_cancels_upcoming_back_walking(
    spa, ana, staff_user, settings
):
    screen(ana)
    appointment = book(spa, ana)
    deliver_owed_notices()

    correct_date_of_birth(
        client=ana,
        new_date_of_birth=datetime.date(2010, 6, 1),
        corrected_by=staff_user,
        reason="Passport shown at reception",
    )

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.needs_follow_up
    assert appointment.cancellation_reason == (
        "Back-walking massage is only for adults aged 18 and over, both on the day it is "
        "booked and on the day itself, so your appointment on Sunday 6 December cannot go "
        f"ahead. Please call us on {settings.SPA_PHONE} to change to another treatment."
    )
    [email] = emails_sent()
    assert email.subject.endswith("is cancelled")


def test_a_held_booking_of_a_client_corrected_to_16_is_not_confirmed_by_an_approval(
    spa, ana, staff_user, reviewer
):
    held_on = screen(ana, back_pain_under_care=True)
    held = book(spa, ana)
    assert held.status == Appointment.Status.PENDING_REVIEW

    correct_date_of_birth(
        client=ana,
        new_date_of_birth=datetime.date(2010, 6, 1),
        corrected_by=staff_user,
        reason="Passport shown at reception",
    )
    approve_screening(screening=held_on, by=reviewer, note="Physio says it is fine")

    assert fresh(held).status == Appointment.Status.CANCELLED
    assert not Appointment.objects.filter(status=Appointment.Status.CONFIRMED).exists()


def test_a_correction_that_keeps_the_client_adult_changes_nothing(spa, ana, staff_user):
    screen(ana)
    appointment = book(spa, ana)

    correct_date_of_birth(
        client=ana,
        new_date_of_birth=datetime.date(1991, 3, 27),
        corrected_by=staff_user,
        reason="Typo at sign-up",
    )

    appointment = fresh(appointment)
    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.revision == 0


def test_the_date_of_birth_correction_in_the_admin_cancels_and_says_so(spa, ana, staff_http):
    screen(ana)
    appointment = book(spa, ana)

    response = staff_http.post(
        reverse("admin:clients_client_change", args=[ana.pk]),
        admin_change_data(
            ana,
            date_of_birth="2010-06-01",
            date_of_birth_correction_reason="Passport shown at reception",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert fresh(appointment).status == Appointment.Status.CANCELLED


def test_staff_cannot_correct_their_own_date_of_birth(staff_user):
    me_as_client = ClientFactory(user=staff_user)

    with pytest.raises(AccountError, match="Another member of staff"):
        correct_date_of_birth(
            client=me_as_client,
            new_date_of_birth=datetime.date(1980, 1, 1),
            corrected_by=staff_user,
            reason="I know my own birthday",
        )


# 3. Nobody decides on their own screening


@pytest.fixture
def reviewer_who_is_a_client(db):
    user = UserFactory(email="rev@example.com", is_staff=True)
    user.groups.add(reviewers_group())
    return ClientFactory(user=user, full_name="Rev Client")


def test_a_reviewer_cannot_approve_their_own_screening(spa, reviewer_who_is_a_client):
    own = screen(reviewer_who_is_a_client, back_pain_under_care=True)

    with pytest.raises(ScreeningError, match="your own health screening"):
        approve_screening(screening=own, by=reviewer_who_is_a_client.user, note="All fine")
    with pytest.raises(ScreeningError, match="your own health screening"):
        decline_screening(screening=own, by=reviewer_who_is_a_client.user, note="Hmm")

    own.refresh_from_db()
    assert own.review == HealthScreening.Review.PENDING
    assert not own.decisions.exists()


def test_a_reviewer_cannot_clear_their_own_screening_on_a_doctors_note(
    spa, reviewer_who_is_a_client
):
    own = screen(reviewer_who_is_a_client, blood_clots_or_thinners=True)

    with pytest.raises(ScreeningError, match="your own health screening"):
        clear_on_doctors_note(
            screening=own, by=reviewer_who_is_a_client.user, note="Dr Who, 1 Dec 2026"
        )
    own.refresh_from_db()
    assert own.review != HealthScreening.Review.APPROVED


def test_a_reviewers_own_screening_is_not_in_their_queue_and_offers_no_decision(
    spa, reviewer_who_is_a_client
):
    own = screen(reviewer_who_is_a_client, back_pain_under_care=True)
    someone = ClientFactory(full_name="Someone Else")
    theirs = screen(someone, back_pain_under_care=True)
    http = force_login_verified(HttpClient(), reviewer_who_is_a_client.user)

    queue = http.get(reverse("admin:screening_screeningtoreview_changelist"))
    assert queue.status_code == 200
    shown = {row.pk for row in queue.context["cl"].result_list}
    assert shown == {theirs.pk}

    page = http.get(review_url(own))
    assert page.status_code == 200
    assert 'name="decision"' not in page.content.decode()
    assert 'name="decision"' in http.get(review_url(theirs)).content.decode()

    http.post(review_url(own), {"decision": "approve", "note": "Fine", "therapist_note_text": ""})
    own.refresh_from_db()
    assert own.review == HealthScreening.Review.PENDING


# 4. A doctor's note clears the condition it is about, never a recovery wait


def test_a_doctors_note_for_blood_thinners_does_not_shorten_a_surgery_wait(spa, ana, reviewer):
    surgery = datetime.date(2026, 11, 24)  # 7 days ago
    screening = screen(ana, blood_clots_or_thinners=True, surgery_on=surgery)

    assert screening.outcome == HealthScreening.Outcome.NOT_ELIGIBLE
    assert screening.eligible_from == surgery + datetime.timedelta(weeks=12)
    assert any("surgery" in reason.lower() for reason in screening.reasons)
    assert any("thinners" in reason.lower() for reason in screening.reasons)

    clear_on_doctors_note(screening=screening, by=reviewer, note="Dr Khan, letter of 30 Nov")

    with pytest.raises(BookingError, match="has to wait until Tuesday 16 February 2027"):
        book(spa, ana, day=surgery + datetime.timedelta(days=14))
    assert not Appointment.objects.exists()


def test_after_the_wait_a_doctors_note_lets_the_client_book(spa, ana, reviewer):
    surgery = datetime.date(2026, 10, 20)
    screening = screen(ana, blood_clots_or_thinners=True, surgery_on=surgery)
    clear_on_doctors_note(screening=screening, by=reviewer, note="Dr Khan, letter of 30 Nov")

    with pytest.raises(BookingError, match="has to wait until"):
        book(spa, ana, day=datetime.date(2027, 1, 11))
    appointment = book(spa, ana, day=datetime.date(2027, 1, 12))

    assert appointment.status == Appointment.Status.CONFIRMED


def test_pregnancy_is_never_cleared_on_a_doctors_note(spa, ana, reviewer):
    screening = screen(ana, pregnant=True)

    with pytest.raises(ScreeningError, match="never pregnancy"):
        clear_on_doctors_note(screening=screening, by=reviewer, note="Dr Khan says fine")
    screening.refresh_from_db()
    assert screening.review != HealthScreening.Review.APPROVED


# 5 is the database's: tests/screening/test_screening_cannot_be_deleted.py


# 6. After a stop or a decline, only a reviewer clears the client again


def test_after_a_stop_a_fresh_nothing_to_declare_still_goes_to_staff(spa, ana, reviewer):
    screen(ana)
    today = book(spa, ana, day=TODAY, hour=11)
    stop_session(today)

    fresh_one = screen(ana)

    assert fresh_one.outcome == HealthScreening.Outcome.CLEARED
    assert fresh_one.review == HealthScreening.Review.PENDING
    assert "Staff review needed: a therapist stopped an earlier session" in fresh_one.reasons
    held = book(spa, ana)
    assert held.status == Appointment.Status.PENDING_REVIEW

    approve_screening(screening=fresh_one, by=reviewer, note="Spoke to her; all well")
    assert fresh(held).status == Appointment.Status.CONFIRMED
    # Cleared by a reviewer: the next screening is judged on its answers again.
    assert screen(ana).review == HealthScreening.Review.NOT_NEEDED


def test_after_a_decline_a_fresh_nothing_to_declare_still_goes_to_staff(spa, ana, reviewer):
    declined = screen(ana, back_pain_under_care=True)
    decline_screening(screening=declined, by=reviewer, note="Physio advises against")

    fresh_one = screen(ana)

    assert fresh_one.review == HealthScreening.Review.PENDING
    assert "Staff review needed: an earlier screening was declined" in fresh_one.reasons
    assert book(spa, ana).status == Appointment.Status.PENDING_REVIEW


# 7. One hold policy: a hold that ran out is released, whoever comes first


def test_an_approval_after_the_hold_ran_out_does_not_confirm_it(spa, ana, reviewer):
    held_on = screen(ana, back_pain_under_care=True)
    held = book(spa, ana)
    deliver_owed_notices()
    late = held.hold_expires_at + datetime.timedelta(minutes=5)

    with time_machine.travel(late, tick=False):
        approve_screening(screening=held_on, by=reviewer, note="Physio says it is fine")
        emails = emails_sent()

    held = fresh(held)
    assert held.status == Appointment.Status.CANCELLED
    assert held.cancellation_reason.startswith("The health review was not completed in time.")
    assert "please book a new time" in held.cancellation_reason
    [decision] = [email for email in emails if "health screening" in email.subject]
    assert "book a new time" in decision.body
    assert "Confirmed:" not in decision.body
    with time_machine.travel(late, tick=False):
        assert release_expired_holds() == 0


def test_a_release_before_the_approval_leaves_one_consistent_state(spa, ana, reviewer):
    held_on = screen(ana, back_pain_under_care=True)
    held = book(spa, ana)
    deliver_owed_notices()
    late = held.hold_expires_at + datetime.timedelta(minutes=5)

    with time_machine.travel(late, tick=False):
        call_command("release_expired_holds", stdout=open("/dev/null", "w"))  # noqa: SIM115
        approve_screening(screening=held_on, by=reviewer, note="Physio says it is fine")
        emails = emails_sent()

    assert fresh(held).status == Appointment.Status.CANCELLED
    about_the_appointment = [email for email in emails if "appointment" in email.subject]
    assert len(about_the_appointment) == 1
    assert about_the_appointment[0].subject.endswith("is cancelled")


# The other inputs: a treatment that becomes back-walking, a stop with no time left


def test_a_treatment_turned_back_walking_judges_everyone_booked_for_it(spa, staff_http):
    swedish = TreatmentFactory(name="Deep tissue")
    for therapist in spa.therapists:
        Qualification.objects.create(therapist=therapist, treatment=swedish)
    screened = ClientFactory(full_name="Screened Client")
    screen(screened)
    unscreened = ClientFactory(full_name="Never Screened")
    kept = book_appointment(client=screened, treatment=swedish, start=at(IN_FIVE_DAYS, 10))
    cancelled = book_appointment(client=unscreened, treatment=swedish, start=at(IN_FIVE_DAYS, 12))

    response = staff_http.post(
        reverse("admin:appointments_treatment_change", args=[swedish.pk]),
        {
            "name": swedish.name,
            "slug": swedish.slug,
            "summary": swedish.summary,
            "description": swedish.description,
            "duration_minutes": 60,
            "buffer_minutes": 15,
            "price": "80.00",
            "is_back_walking": "on",
            "is_active": "on",
            "position": 0,
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "flagged for a call" in response.content.decode()
    assert fresh(kept).status == Appointment.Status.CONFIRMED
    cancelled = fresh(cancelled)
    assert cancelled.status == Appointment.Status.CANCELLED
    assert cancelled.needs_follow_up
    assert "now needs a health screening" in cancelled.cancellation_reason


def test_a_stop_cancels_back_walking_too_soon_for_a_review(spa, ana):
    screen(ana)
    today = book(spa, ana, day=TODAY, hour=11)
    tomorrow = book(spa, ana, day=TOMORROW, hour=9, therapist=spa.therapists[1])

    stop_session(today)

    tomorrow = fresh(tomorrow)
    assert tomorrow.status == Appointment.Status.PENDING_REVIEW
    with time_machine.travel(tomorrow.hold_expires_at, tick=False):
        assert release_expired_holds() == 1
    assert fresh(tomorrow).status == Appointment.Status.CANCELLED


def test_every_verdict_change_locks_the_client_first(spa, ana, reviewer, django_assert_num_queries):
    """The lock order (client, then appointments) is what keeps concurrent changes apart."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    held_on = screen(ana, back_pain_under_care=True)
    book(spa, ana)

    with CaptureQueriesContext(connection) as queries:
        approve_screening(screening=held_on, by=reviewer, note="Fine")

    locks = [q["sql"] for q in queries if "FOR" in q["sql"] and "UPDATE" in q["sql"]]
    assert "clients_client" in locks[0]


# The same race on real concurrent connections: both take the client's lock, so one decides


def _held_booking_past_its_hold(spa, client) -> tuple[HealthScreening, Appointment]:
    held_on = screen(client, back_pain_under_care=True)
    held = book(spa, client)
    deliver_owed_notices()
    mail.outbox.clear()
    return held_on, held


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["approval", "release"])
def test_an_approval_and_a_release_at_the_same_moment_end_in_one_state_and_one_email(
    spa, ana, reviewer, first
):
    held_on, held = _held_booking_past_its_hold(spa, ana)
    late = held.hold_expires_at + datetime.timedelta(minutes=1)

    def approve():
        return approve_screening(screening=held_on, by=reviewer, note="Physio says it is fine")

    def release():
        return release_expired_holds()

    one, other = (approve, release) if first == "approval" else (release, approve)
    with time_machine.travel(late, tick=False):
        with transaction.atomic():
            one()
            thread, result = in_thread(other)
            wait_for_a_lock_waiter()
        thread.join(timeout=30)
        assert "error" not in result, result
        deliver_owed_notices()

    held = fresh(held)
    assert held.status == Appointment.Status.CANCELLED
    about_the_appointment = [email for email in mail.outbox if "appointment" in email.subject]
    assert [email.subject for email in about_the_appointment] == [about_the_appointment[0].subject]
    assert about_the_appointment[0].subject.endswith("is cancelled")
    held_on.refresh_from_db()
    assert held_on.review == HealthScreening.Review.APPROVED


# A new questionnaire: older screenings keep what was booked on them, new bookings ask again

V1_ANSWERS = version_1_answers()


def version_one_screening(client) -> HealthScreening:
    return HealthScreening.objects.create(
        client=client,
        questionnaire_version=1,
        answers=V1_ANSWERS,
        signature_name=client.full_name,
        consented_at=NOW - datetime.timedelta(days=30),
        submitted_at=NOW - datetime.timedelta(days=30),
        outcome=HealthScreening.Outcome.CLEARED,
        reasons=[],
        therapist_notes=["Prefers medium pressure"],
        valid_until=datetime.date(2027, 10, 31),
        review=HealthScreening.Review.NOT_NEEDED,
    )


def test_a_screening_on_the_old_questionnaire_keeps_its_booking_but_new_ones_ask_again(
    spa, ana, staff_user
):
    old = version_one_screening(ana)
    kept = Appointment.objects.create(
        client=ana,
        therapist=spa.therapist,
        treatment=spa.treatment,
        room=spa.room,
        starts_at=at(IN_FIVE_DAYS, 10),
        ends_at=at(IN_FIVE_DAYS, 11),
        blocked_until=at(IN_FIVE_DAYS, 11, 15),
        screening=old,
        created_at=NOW - datetime.timedelta(days=30),
    )

    with pytest.raises(BookingError, match="new questions since your last screening"):
        book(spa, ana, day=IN_FIVE_DAYS, hour=14)
    # Judged again (here: a date of birth typo fixed), the booking on it stands.
    correct_date_of_birth(
        client=ana,
        new_date_of_birth=datetime.date(1990, 3, 28),
        corrected_by=staff_user,
        reason="Typo at sign-up",
    )
    assert fresh(kept).status == Appointment.Status.CONFIRMED

    screen(ana)
    assert book(spa, ana, day=IN_FIVE_DAYS, hour=14).status == Appointment.Status.CONFIRMED


def test_the_reviewer_is_told_what_the_decision_did_to_the_clients_bookings(
    spa, ana, reviewer_http
):
    held_on = screen(ana, back_pain_under_care=True)
    book(spa, ana)

    response = decide(reviewer_http, held_on, "decline", note="Physio advises against")

    assert response.status_code == 302
    page = reviewer_http.get(response.url).content.decode()
    assert "Back-walking on Sun 06 Dec 10:00: cancelled by the spa and flagged for a call" in page
