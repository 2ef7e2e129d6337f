"""The back-walking gate holds on every path: the services, HTTP and the admin."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.forms import format_start
from appointments.models import Appointment
from appointments.services import BookingError, book_appointment, reschedule_appointment
from screening import rules
from screening.eligibility import current_screening
from screening.models import HealthScreening
from screening.services import (
    ScreeningError,
    approve_screening,
    clear_on_doctors_note,
    decline_screening,
)
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

IN_FIVE_DAYS = datetime.date(2026, 12, 6)


@pytest.fixture
def spa():
    return open_spa(back_walking=True, name="Ashiatsu", therapists=2, rooms=2)


def book(spa, client, day=IN_FIVE_DAYS, hour=10, **kwargs) -> Appointment:
    kwargs.setdefault("health_unchanged", True)
    return book_appointment(
        client=client, treatment=spa.treatment, start=at(day, hour), therapist=None, **kwargs
    )


def test_no_screening_is_refused(spa, ana):
    with pytest.raises(BookingError, match="please fill in our health screening"):
        book(spa, ana)
    assert not Appointment.objects.exists()


def test_cleared_screening_books_a_confirmed_appointment_linked_to_it(spa, ana):
    screening = screen(ana)

    appointment = book(spa, ana)

    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.screening == screening
    assert appointment.hold_expires_at is None


def test_the_gate_judges_without_reading_the_health_answers(spa, ana):
    """Booking judges the screening by its outcome, review and dates: the encrypted answers,
    notes and signature are neither read from PostgreSQL nor decrypted."""
    screen(ana, other_conditions="An old ankle sprain")

    with CaptureQueriesContext(connection) as queries:
        book(spa, ana)

    screening_reads = [q["sql"] for q in queries if 'FROM "screening_healthscreening"' in q["sql"]]
    assert screening_reads
    for encrypted in ("answers", "signature_name", "review_note", "therapist_note"):
        assert all(
            f'"screening_healthscreening"."{encrypted}"' not in sql for sql in screening_reads
        )


def test_the_gate_reads_the_newest_screening_whole_but_for_the_health_data(ana):
    """The gate's read is SQL the ORM wrote once: the same screening as the ORM's read, every
    column but the encrypted ones, which stay unread until asked for."""
    screen(ana)
    newest = screen(ana, back_pain_under_care=True)  # at the same moment: the higher id wins
    screen(ClientFactory())  # someone else's

    read = current_screening(ana, health_data=False)

    assert read == current_screening(ana) == newest
    encrypted = {"answers", "signature_name", "reasons", "therapist_notes", "review_note"}
    assert read.get_deferred_fields() == encrypted | {"therapist_note"}
    for field in HealthScreening._meta.concrete_fields:
        if field.name not in read.get_deferred_fields():
            assert getattr(read, field.attname) == getattr(newest, field.attname), field.name
    assert current_screening(ClientFactory(), health_data=False) is None


def test_the_client_must_confirm_nothing_has_changed(spa, ana):
    screen(ana)

    with pytest.raises(BookingError, match="nothing in your health has changed"):
        book(spa, ana, health_unchanged=False)


def test_screening_needing_review_holds_the_appointment(spa, ana):
    screening = screen(ana, back_pain_under_care=True)

    appointment = book(spa, ana)

    assert appointment.status == Appointment.Status.PENDING_REVIEW
    assert appointment.screening == screening
    assert appointment.hold_expires_at == NOW + datetime.timedelta(hours=48)


def test_a_held_booking_tells_the_client_it_waits_for_the_review_not_that_it_is_booked(spa, ana):
    screen(ana, back_pain_under_care=True)
    book(spa, ana)

    deliver_owed_notices()

    [email] = mail.outbox
    assert "held for a health review" in email.subject
    assert "We are holding this time for you" in email.body
    assert "Your appointment is booked" not in email.body
    [(_, calendar, _)] = email.attachments
    assert "STATUS:TENTATIVE" in calendar


def test_hold_expires_a_few_hours_before_a_close_appointment(spa, ana):
    screen(ana, back_pain_under_care=True)

    appointment = book(spa, ana, day=TOMORROW, hour=9)

    assert appointment.hold_expires_at == at(TOMORROW, 5)


def test_a_hold_too_close_to_the_start_is_refused(spa, ana):
    screen(ana, back_pain_under_care=True)

    with pytest.raises(BookingError, match="this time is too soon"):
        book(spa, ana, day=NOW.date(), hour=11)


def test_declined_screening_is_refused(spa, ana, staff_user):
    screening = screen(ana, back_pain_under_care=True)
    decline_screening(screening=screening, by=staff_user, note="Physio says no.")

    with pytest.raises(BookingError, match="could not clear you"):
        book(spa, ana)


@pytest.mark.parametrize(
    "condition",
    [
        {"fragile_bones": True},
        {"blood_clots_or_thinners": True},
        {"serious_heart_condition": True},
        {"blood_pressure": rules.BloodPressure.UNCONTROLLED},
    ],
)
def test_not_eligible_is_refused_until_staff_clear_it_on_a_doctors_note(
    spa, ana, staff_user, condition
):
    screening = screen(ana, **condition)

    with pytest.raises(BookingError, match="not safe for you"):
        book(spa, ana)
    clear_on_doctors_note(screening=screening, by=staff_user, note="Letter from Dr Reyes, 1 Dec.")

    assert book(spa, ana).status == Appointment.Status.CONFIRMED


@pytest.mark.parametrize("condition", [{"pregnant": True}, {"spinal_cord_injury": True}])
def test_pregnancy_and_a_spinal_cord_injury_are_never_cleared_on_a_doctors_note(
    spa, ana, staff_user, condition
):
    screening = screen(ana, **condition)

    with pytest.raises(BookingError, match="cannot offer it"):
        book(spa, ana)
    with pytest.raises(ScreeningError, match="never pregnancy or a spinal cord injury"):
        clear_on_doctors_note(screening=screening, by=staff_user, note="Letter from Dr Reyes.")
    with pytest.raises(BookingError, match="cannot offer it"):
        book(spa, ana)


def test_a_disc_problem_needs_a_doctors_note_not_only_a_staff_look(spa, ana, staff_user):
    screening = screen(ana, disc_disorder=True)

    assert screening.outcome == HealthScreening.Outcome.DOCTORS_NOTE
    assert not screening.awaits_review
    with pytest.raises(BookingError, match="needs a note from your doctor"):
        book(spa, ana)
    with pytest.raises(ScreeningError, match="not waiting for a review"):
        approve_screening(screening=screening, by=staff_user, note="Looks fine to me")
    clear_on_doctors_note(screening=screening, by=staff_user, note="Letter from Dr Reyes, 1 Dec.")

    assert book(spa, ana).status == Appointment.Status.CONFIRMED


def test_recent_injury_waits_until_its_date(spa, ana):
    screening = screen(ana, muscle_tear_on=datetime.date(2026, 11, 1))  # + 6 weeks = 13 Dec
    assert screening.eligible_from == datetime.date(2026, 12, 13)

    with pytest.raises(BookingError, match="Sunday 13 December 2026"):
        book(spa, ana, day=datetime.date(2026, 12, 12))
    assert book(spa, ana, day=datetime.date(2026, 12, 13)).status == "confirmed"


def test_screening_expired_on_the_appointment_date_is_refused(spa, ana, settings):
    settings.SPA_BOOKING_HORIZON_DAYS = 400
    with time_machine.travel(datetime.datetime(2025, 12, 5, 12, tzinfo=datetime.UTC), tick=False):
        screening = screen(ana)
    assert screening.valid_until == datetime.date(2026, 12, 5)

    assert book(spa, ana, day=datetime.date(2026, 12, 5))
    with pytest.raises(BookingError, match="valid until 5 December 2026"):
        book(spa, ana, day=IN_FIVE_DAYS)


def test_another_clients_screening_does_not_count(spa, ana):
    screen(ClientFactory())

    with pytest.raises(BookingError, match="fill in our health screening"):
        book(spa, ana)


def test_the_newest_screening_counts(spa, ana):
    screen(ana)
    screen(ana, back_pain_under_care=True)

    assert book(spa, ana).status == Appointment.Status.PENDING_REVIEW


def test_rescheduling_back_walking_past_the_screenings_validity_is_refused(spa, ana, settings):
    settings.SPA_BOOKING_HORIZON_DAYS = 400
    with time_machine.travel(datetime.datetime(2025, 12, 5, 12, tzinfo=datetime.UTC), tick=False):
        screen(ana)
    appointment = book(spa, ana, day=datetime.date(2026, 12, 4))

    with pytest.raises(BookingError, match="valid until"):
        reschedule_appointment(
            appointment=appointment, start=at(datetime.date(2026, 12, 8), 10), health_unchanged=True
        )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(datetime.date(2026, 12, 4), 10)


def test_rescheduling_needs_the_confirmation_too(spa, ana):
    screen(ana)
    appointment = book(spa, ana)

    with pytest.raises(BookingError, match="nothing in your health has changed"):
        reschedule_appointment(appointment=appointment, start=at(IN_FIVE_DAYS, 14))


def test_a_confirmed_booking_moved_after_a_new_screening_needing_review_is_held(spa, ana):
    screen(ana)
    appointment = book(spa, ana)
    screen(ana, other_conditions="Sciatica since October")

    moved = reschedule_appointment(
        appointment=appointment, start=at(IN_FIVE_DAYS, 14), health_unchanged=True
    )

    assert moved.status == Appointment.Status.PENDING_REVIEW
    mail.outbox.clear()
    deliver_owed_notices()
    [email] = mail.outbox
    assert "held for a health review" in email.subject
    assert "14:00" in email.body


# Staff decisions


def test_approval_confirms_held_appointments_and_tells_the_client(spa, ana, staff_user):
    screening = screen(ana, back_pain_under_care=True)
    held = book(spa, ana)
    deliver_owed_notices()  # the held email
    mail.outbox.clear()

    approve_screening(
        screening=screening, by=staff_user, note="Fine", therapist_note="Go gently on L4"
    )
    deliver_owed_notices()

    held.refresh_from_db()
    screening.refresh_from_db()
    assert held.status == Appointment.Status.CONFIRMED
    assert held.hold_expires_at is None
    assert (screening.review, screening.reviewed_by, screening.reviewed_at) == (
        "approved",
        staff_user,
        NOW,
    )
    subjects = [m.subject for m in mail.outbox]
    assert "Your health screening is cleared for back-walking" in subjects
    [confirmation] = [m for m in mail.outbox if m.subject.startswith("Your booking")]
    assert "Your appointment is booked" in confirmation.body
    assert "STATUS:CONFIRMED" in confirmation.attachments[0][1]
    assert all("Fine" not in m.body for m in mail.outbox)  # the staff note stays internal


def test_decline_cancels_held_appointments_and_needs_a_reason(spa, ana, staff_user):
    screening = screen(ana, back_pain_under_care=True)
    held = book(spa, ana)

    with pytest.raises(ScreeningError, match="Say why"):
        decline_screening(screening=screening, by=staff_user, note=" ")
    decline_screening(screening=screening, by=staff_user, note="Recent flare-up, GP unsure")
    deliver_owed_notices()

    held.refresh_from_db()
    assert held.status == Appointment.Status.CANCELLED
    decision = [m for m in mail.outbox if "About your health screening" in m.subject][0]
    assert "Cancelled: Ashiatsu" in decision.body
    assert "flare-up" not in decision.body


def test_approving_a_stale_screening_is_refused(spa, ana, staff_user):
    stale = screen(ana, back_pain_under_care=True)
    screen(ana, back_pain_under_care=True, other_conditions="Also a sore knee")

    with pytest.raises(ScreeningError, match="newer screening"):
        approve_screening(screening=stale, by=staff_user, note="Spoke to the client; safe")
    stale.refresh_from_db()
    assert stale.review == HealthScreening.Review.PENDING


def test_only_pending_screenings_can_be_approved(ana, staff_user):
    cleared = screen(ana)

    with pytest.raises(ScreeningError, match="not waiting for a review"):
        approve_screening(screening=cleared, by=staff_user, note="Spoke to the client; safe")


def test_unreviewed_holds_are_released_once(spa, ana):
    screen(ana, back_pain_under_care=True)
    held = book(spa, ana)
    mail.outbox.clear()

    with time_machine.travel(NOW + datetime.timedelta(hours=49), tick=False):
        call_command("release_expired_holds", stdout=open("/dev/null", "w"))  # noqa: SIM115
        deliver_owed_notices()
        call_command("release_expired_holds", stdout=open("/dev/null", "w"))  # noqa: SIM115
        deliver_owed_notices()

    held.refresh_from_db()
    assert held.status == Appointment.Status.CANCELLED
    assert held.cancellation_reason == "The health review was not completed in time."
    assert len(mail.outbox) == 1


def test_holds_not_yet_expired_stay(spa, ana):
    screen(ana, back_pain_under_care=True)
    held = book(spa, ana)

    with time_machine.travel(NOW + datetime.timedelta(hours=47), tick=False):
        call_command("release_expired_holds", stdout=open("/dev/null", "w"))  # noqa: SIM115

    held.refresh_from_db()
    assert held.status == Appointment.Status.PENDING_REVIEW


# The database refuses changed answers


def test_the_database_refuses_an_update_of_submitted_answers(ana):
    screening = screen(ana, back_pain_under_care=True)

    for change in (
        {"answers": {**screening.answers, "back_pain_under_care": False}},
        {"outcome": "cleared"},
        {"reasons": []},
        {"signature_name": "Someone Else"},
        {"valid_until": datetime.date(2030, 1, 1)},
    ):
        with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
            HealthScreening.objects.filter(pk=screening.pk).update(**change)

    HealthScreening.objects.filter(pk=screening.pk).update(therapist_note="Fine to update")


def test_screening_str_carries_no_health_data(ana):
    screening = screen(ana, pregnant=True)

    assert str(screening) == f"Health screening #{screening.pk}"


# Over HTTP, with CSRF checks on


def csrf_client(client) -> HttpClient:
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(client.user)
    return http


def post_with_csrf(http: HttpClient, url: str, data: dict):
    http.get(reverse("clients:account"))
    return http.post(url, {**data, "csrfmiddlewaretoken": http.cookies["csrftoken"].value})


def test_direct_post_without_a_screening_is_refused(spa, ana):
    http = csrf_client(ana)
    url = reverse("appointments:book", args=[spa.treatment.slug])

    response = post_with_csrf(
        http,
        url,
        {"start": format_start(at(IN_FIVE_DAYS, 10)), "therapist": "any", "health_changed": "no"},
    )

    assert response.status_code == 409
    assert "fill in our health screening" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("review", ["pending", "declined"])
def test_direct_post_naming_someone_elses_cleared_screening_is_refused(
    spa, ana, review, staff_user
):
    other = screen(ClientFactory())
    own = screen(ana, back_pain_under_care=True)
    if review == "declined":
        decline_screening(screening=own, by=staff_user, note="No")
    http = csrf_client(ana)

    response = post_with_csrf(
        http,
        reverse("appointments:book", args=[spa.treatment.slug]),
        {
            "start": format_start(at(IN_FIVE_DAYS, 10)),
            "therapist": "any",
            "health_changed": "no",
            "screening": other.pk,
        },
    )

    appointment = Appointment.objects.filter(client=ana).first()
    if review == "declined":
        assert response.status_code == 409
        assert appointment is None
    else:
        assert appointment.status == Appointment.Status.PENDING_REVIEW
        assert appointment.screening == own


def test_post_without_csrf_token_is_refused(spa, ana):
    screen(ana)
    http = csrf_client(ana)

    response = http.post(
        reverse("appointments:book", args=[spa.treatment.slug]),
        {"start": format_start(at(IN_FIVE_DAYS, 10)), "therapist": "any", "health_changed": "no"},
    )

    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_answering_that_health_changed_leads_to_a_new_screening_keeping_the_time(spa, ana):
    screen(ana)
    http = csrf_client(ana)
    url = reverse("appointments:book", args=[spa.treatment.slug])

    response = post_with_csrf(
        http,
        url,
        {"start": format_start(at(IN_FIVE_DAYS, 10)), "therapist": "any", "health_changed": "yes"},
    )

    assert response.status_code == 302
    target = parse_qs(urlsplit(response.url).query)["next"][0]
    assert urlsplit(response.url).path == reverse("screening:new")
    assert parse_qs(urlsplit(target).query)["start"] == ["2026-12-06T10:00Z"]
    assert not Appointment.objects.exists()


def test_reschedule_over_http_cannot_change_the_treatment(ana):
    swedish = open_spa(name="Swedish massage")
    ashiatsu = open_spa(back_walking=True, name="Ashiatsu")
    appointment = book_appointment(
        client=ana, treatment=swedish.treatment, start=at(IN_FIVE_DAYS, 10)
    )
    http = csrf_client(ana)

    post_with_csrf(
        http,
        reverse("appointments:reschedule", args=[appointment.pk]),
        {
            "start": format_start(at(IN_FIVE_DAYS, 14)),
            "therapist": "any",
            "treatment": ashiatsu.treatment.pk,
        },
    )

    appointment.refresh_from_db()
    assert appointment.treatment == swedish.treatment


def test_admin_cannot_book_back_walking_for_a_client_without_a_screening(spa, ana, staff_http):
    response = staff_http.post(
        reverse("admin:appointments_appointment_add"),
        {
            "client": ana.pk,
            "treatment": spa.treatment.pk,
            "start_0": IN_FIVE_DAYS.isoformat(),
            "start_1": "10:00",
            "therapist": "",
            "health_unchanged": "on",
        },
    )

    assert response.status_code == 200
    assert "fill in our health screening" in response.content.decode()
    assert not Appointment.objects.exists()


def test_admin_cannot_turn_an_appointment_into_back_walking(spa, ana, staff_http):
    swedish = open_spa(name="Swedish massage")
    appointment = book_appointment(
        client=ana, treatment=swedish.treatment, start=at(IN_FIVE_DAYS, 10)
    )

    staff_http.post(
        reverse("admin:appointments_appointment_change", args=[appointment.pk]),
        {
            "treatment": spa.treatment.pk,
            "start_0": IN_FIVE_DAYS.isoformat(),
            "start_1": "10:00",
            "therapist": appointment.therapist_id,
        },
    )

    appointment.refresh_from_db()
    assert appointment.treatment == swedish.treatment
