"""Staff review in the admin: the queue, decisions, who may see answers, what is logged."""

import datetime

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment
from appointments.services import book_appointment
from appointments.visits import record_pre_session_check
from screening.models import HealthScreening, ScreeningDecision
from tests.factories import ClientFactory, UserFactory
from tests.scheduling import NOW, at, open_spa
from tests.screenings import decide, review_url, screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

QUEUE = reverse("admin:screening_screeningtoreview_changelist")


@pytest.fixture
def other_staff_http() -> HttpClient:
    return force_login_verified(HttpClient(), UserFactory(email="desk@example.com", is_staff=True))


def test_reviewers_group_holds_exactly_the_review_permission():
    group = Group.objects.get(name="Screening reviewers")

    assert [p.codename for p in group.permissions.all()] == ["review_healthscreening"]


def test_queue_lists_screenings_needing_review_oldest_first(reviewer_http):
    with time_machine.travel(NOW - datetime.timedelta(hours=5), tick=False):
        screen(ClientFactory(full_name="Olive Older"), back_pain_under_care=True)
    screen(ClientFactory(full_name="Nina Newer"), back_pain_under_care=True)
    screen(ClientFactory(full_name="Cleo Cleared"))

    response = reviewer_http.get(QUEUE)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Olive Older") < html.index("Nina Newer")
    assert "Cleo Cleared" not in html
    assert "Back pain under medical care" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_review_page_shows_age_reasons_answers_and_held_appointments(reviewer_http):
    client = ClientFactory(full_name="Hana Held", date_of_birth=datetime.date(1990, 12, 2))
    screening = screen(client, back_pain_under_care=True, areas_to_avoid="Left hip")
    spa = open_spa(back_walking=True, name="Ashiatsu")
    book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(datetime.date(2026, 12, 6), 10),
        health_unchanged=True,
    )

    response = reviewer_http.get(review_url(screening))

    html = response.content.decode()
    assert "Hana Held" in html
    assert ">35<" in html  # age today (turns 36 tomorrow)
    assert "Back pain under medical care" in html
    assert "Is a doctor or physiotherapist treating you for back pain" in html
    assert "Left hip" in html
    assert "Ashiatsu" in html and "Waiting for health review" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_reviewer_approves_in_the_admin(reviewer_http, reviewer):
    client = ClientFactory()
    screening = screen(client, back_pain_under_care=True)
    spa = open_spa(back_walking=True, name="Ashiatsu")
    held = book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(datetime.date(2026, 12, 6), 10),
        health_unchanged=True,
    )

    response = decide(
        reviewer_http,
        screening,
        "approve",
        note="Physio letter seen",
        therapist_note="Go gently on L4",
    )

    assert response.status_code == 302
    screening.refresh_from_db()
    held.refresh_from_db()
    assert screening.review == "approved"
    assert screening.reviewed_by == reviewer
    assert screening.therapist_note == "Go gently on L4"
    assert held.status == Appointment.Status.CONFIRMED


def test_approval_without_a_reason_shows_the_error_and_changes_nothing(reviewer_http):
    screening = screen(ClientFactory(), back_pain_under_care=True)

    response = decide(reviewer_http, screening, "approve", note="  ", therapist_note="keep me")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Say why the screening is approved" in html
    assert "keep me" in html
    screening.refresh_from_db()
    assert screening.review == "pending"
    assert not screening.decisions.exists()


def test_decline_without_a_reason_shows_the_error_and_changes_nothing(reviewer_http):
    screening = screen(ClientFactory(), back_pain_under_care=True)

    response = decide(reviewer_http, screening, "decline", note="", therapist_note="keep me")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Say why the screening is declined" in html
    assert "keep me" in html
    screening.refresh_from_db()
    assert screening.review == "pending"


def test_reviewer_declines_with_a_reason(reviewer_http):
    screening = screen(ClientFactory(), back_pain_under_care=True)

    decide(reviewer_http, screening, "decline", note="Surgery planned")

    screening.refresh_from_db()
    assert screening.review == "declined"
    assert screening.review_note == "Surgery planned"


def test_reviewer_clears_not_eligible_on_a_doctors_note(reviewer_http):
    screening = screen(ClientFactory(), fragile_bones=True)

    decide(reviewer_http, screening, "doctors_note", note="Letter from Dr Li, 28 Nov")

    screening.refresh_from_db()
    assert screening.review == "approved"
    assert screening.cleared_on_doctors_note


def test_approving_a_stale_screening_in_the_admin_is_refused(reviewer_http):
    client = ClientFactory()
    stale = screen(client, back_pain_under_care=True)
    screen(client, back_pain_under_care=True)

    response = decide(reviewer_http, stale, "approve", note="Physio letter seen")

    assert response.status_code == 200
    assert "newer screening" in response.content.decode()
    stale.refresh_from_db()
    assert stale.review == "pending"


def test_a_decision_that_is_not_offered_changes_nothing(reviewer_http):
    cleared = screen(ClientFactory())  # nothing to decide: no decision inputs at all
    waiting = screen(ClientFactory(), back_pain_under_care=True)

    page = reviewer_http.get(review_url(cleared)).content.decode()
    decide(reviewer_http, cleared, "approve")
    response = decide(reviewer_http, waiting, "doctors_note", note="forged")

    assert 'name="decision"' not in page
    assert "Select a valid choice" in response.content.decode()
    cleared.refresh_from_db()
    waiting.refresh_from_db()
    assert (cleared.review, waiting.review) == ("not_needed", "pending")


def test_saving_without_a_decision_keeps_the_notes_and_says_so(reviewer_http):
    waiting = screen(ClientFactory(), back_pain_under_care=True)

    response = decide(reviewer_http, waiting, "", therapist_note="Mind the lower back")

    html = response.content.decode()
    assert "Choose a decision. Nothing was saved" in html
    assert "Mind the lower back" in html
    waiting.refresh_from_db()
    assert waiting.review == "pending"


def test_other_staff_see_no_screenings_and_no_answers(other_staff_http):
    screening = screen(ClientFactory(), pregnant=True)

    assert other_staff_http.get(QUEUE).status_code == 403
    assert other_staff_http.get(review_url(screening)).status_code == 403
    assert decide(other_staff_http, screening, "doctors_note", note="x").status_code == 403
    index = other_staff_http.get(reverse("admin:index")).content.decode()
    assert "screening" not in index.lower()
    screening.refresh_from_db()
    assert screening.review == "not_needed"


def test_nobody_can_delete_or_add_a_screening_in_the_admin(reviewer_http, staff_http):
    screening = screen(ClientFactory())
    delete = reverse("admin:screening_healthscreening_delete", args=[screening.pk])

    for http in (reviewer_http, staff_http):  # a reviewer, and a superuser
        assert http.post(delete, {"post": "yes"}).status_code == 403
        assert http.get(reverse("admin:screening_healthscreening_add")).status_code == 403
    assert HealthScreening.objects.filter(pk=screening.pk).exists()


def test_answers_never_reach_the_admin_history(reviewer_http):
    screening = screen(
        ClientFactory(),
        back_pain_under_care=True,
        other_conditions="Sciatica",
        areas_to_avoid="Neck",
    )

    decide(reviewer_http, screening, "approve", note="ok", therapist_note="Mind the neck")

    entries = list(LogEntry.objects.values_list("object_repr", "change_message"))
    assert entries
    text = repr(entries)
    for secret in ("Sciatica", "Neck", "Disc", "disc_disorder", "Mind the neck"):
        assert secret not in text
    assert f"Health screening #{screening.pk}" in text


@pytest.mark.usefixtures("unlimited_staff_sessions")  # one login, five days
def test_every_decision_is_kept_with_who_when_and_why(reviewer_http, reviewer):
    client = ClientFactory()
    screening = screen(client, back_pain_under_care=True)
    decide(reviewer_http, screening, "approve", note="Physio letter seen")
    spa = open_spa(back_walking=True, name="Ashiatsu")
    visit = book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(datetime.date(2026, 12, 6), 10),
        health_unchanged=True,
    )
    with time_machine.travel(at(datetime.date(2026, 12, 6), 9, 30), tick=False):
        record_pre_session_check(
            appointment=visit,
            by=spa.therapist.user,
            nothing_changed=False,
            reason="New pain in the lower back",
        )
    with time_machine.travel(at(datetime.date(2026, 12, 6), 9, 45), tick=False):
        decide(reviewer_http, screening, "decline", note="Wait for the GP")

    decisions = list(ScreeningDecision.objects.filter(screening=screening))
    assert [(d.decision, d.note) for d in decisions] == [
        ("approved", "Physio letter seen"),
        ("returned", "Session stopped: New pain in the lower back"),
        ("declined", "Wait for the GP"),
    ]
    assert [d.decided_by for d in decisions] == [reviewer, spa.therapist.user, reviewer]
    page = reviewer_http.get(review_url(screening)).content.decode()
    assert "Sent back to review" in page and "Physio letter seen" in page
