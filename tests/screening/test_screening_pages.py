import datetime

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse

from screening import views
from screening.forms import ScreeningForm
from screening.models import HealthScreening
from tests.screenings import form_data, screen
from tests.two_factor import force_login_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NEW = reverse("screening:new")
MINE = reverse("screening:mine")


def test_questionnaire_asks_every_question_with_consent_unticked(logged_in):
    response = logged_in.get(NEW)

    html = response.content.decode()
    for question in (
        "Are you pregnant",
        "osteoporosis",
        "spinal cord injury",
        "blood clot",
        "serious heart condition",
        "high blood pressure",
        "herniated disc",
        "treating you for back pain",
        "surgery in the last 6 months",
        "broken a bone",
        "torn a muscle",
        "given birth",
        "fever or an infection",
        "scoliosis",
        "operation on your spine",
        "vertebra) or a rib",
        "aortic aneurysm",
        "varicose veins",
        "joint replacement",
        "hypermobile",
        "inflammatory arthritis",
        "open wound or an infection",
        "feeling in your back, legs or feet",
        "cancer",
        "kidney disease",
        "hernia",
        "steroid tablets",
        "Anything else about your health",
        "What pressure do you like",
        "Areas your therapist should avoid",
        "Type your full name to sign",
    ):
        assert question in html
    consent = html[html.index('name="consent"') - 200 : html.index('name="consent"') + 200]
    assert "checked" not in consent
    assert "Only I, the staff who review screenings, and my therapist" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_questionnaire_shows_every_question_of_the_form_in_a_fieldset(logged_in):
    html = logged_in.get(NEW).content.decode()

    for name in ScreeningForm.base_fields:
        assert f'name="{name}' in html, name  # date boxes are name_0, name_1, name_2
    assert html.count("<fieldset") >= 8
    assert "<script" not in html[html.index("<form") : html.index("</form>")]


def test_the_blank_questionnaire_rendered_once_is_the_form_as_rendered_now(logged_in):
    views.blank_questions.cache_clear()
    first = logged_in.get(NEW).content.decode()
    again = logged_in.get(NEW).content.decode()
    fresh = render_to_string("screening/_questions.html", {"form": ScreeningForm()})

    assert views.blank_questions.cache_info().hits == 1  # rendered once, reused after
    assert fresh.strip() and fresh in first and fresh in again


def test_answers_sent_back_with_errors_are_not_the_blank_questionnaire(logged_in, client_account):
    data = {**form_data(client_account), "pregnant": "", "areas_to_avoid": "Left knee"}

    html = logged_in.post(NEW, data).content.decode()

    assert views.blank_questions() not in html
    assert 'value="Left knee"' in html and "is-invalid" in html


def test_healthy_answers_are_cleared(logged_in, client_account):
    response = logged_in.post(NEW, form_data(client_account), follow=True)

    screening = HealthScreening.objects.get()
    assert screening.client == client_account
    assert screening.outcome == "cleared"
    assert screening.review == "not_needed"
    assert screening.valid_until == datetime.date(2027, 12, 1)
    assert screening.signature_name == "Ana Example"
    assert "You are cleared for back-walking." in response.content.decode()


def test_back_pain_under_care_waits_for_review(logged_in, client_account):
    response = logged_in.post(
        NEW, form_data(client_account, back_pain_under_care="yes"), follow=True
    )

    assert HealthScreening.objects.get().review == "pending"
    assert "Our staff will review your answers" in response.content.decode()


def test_recent_surgery_needs_its_date_and_then_waits(logged_in, client_account):
    missing = logged_in.post(NEW, form_data(client_account, recent_surgery="yes"))
    assert "Enter the date of the surgery." in missing.content.decode()
    assert not HealthScreening.objects.exists()

    logged_in.post(
        NEW,
        form_data(
            client_account,
            recent_surgery="yes",
            surgery_on_0="10",
            surgery_on_1="11",
            surgery_on_2="2026",
        ),
    )

    screening = HealthScreening.objects.get()
    assert screening.outcome == "not_eligible_until"
    assert screening.eligible_from == datetime.date(2027, 2, 2)
    page = logged_in.get(MINE).content.decode()
    assert "back-walking from Tuesday 2 February 2027" in page


def test_giving_birth_needs_its_date_and_then_waits_twelve_weeks(logged_in, client_account):
    missing = logged_in.post(NEW, form_data(client_account, recent_birth="yes"))
    assert "Enter the date of the birth." in missing.content.decode()
    assert not HealthScreening.objects.exists()

    logged_in.post(
        NEW,
        form_data(
            client_account,
            recent_birth="yes",
            gave_birth_on_0="1",
            gave_birth_on_1="10",
            gave_birth_on_2="2026",
        ),
    )

    screening = HealthScreening.objects.get()
    assert screening.outcome == "not_eligible_until"
    assert screening.eligible_from == datetime.date(2026, 12, 24)
    assert screening.reasons == [
        "Recent childbirth (on 1 October 2026): back-walking from 24 December 2026"
    ]


def test_a_future_surgery_date_is_refused(logged_in, client_account):
    response = logged_in.post(
        NEW,
        form_data(
            client_account,
            recent_surgery="yes",
            surgery_on_0="10",
            surgery_on_1="1",
            surgery_on_2="2027",
        ),
    )

    assert "Date of the surgery must be today or in the past." in response.content.decode()
    assert not HealthScreening.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pregnant": ""}, "Answer yes or no: Are you pregnant, or could you be?"),
        ({"kidney_disease": ""}, "Answer yes or no: Do you have kidney disease?"),
        ({"unwell": "maybe"}, "Select a valid choice."),
        ({"consent": ""}, "Tick the box to agree to us storing your health answers."),
        ({"signature_name": "Someone Else"}, "type your full name as it is on your account"),
        ({"blood_pressure": "sometimes"}, "Select a valid choice."),
    ],
)
def test_incomplete_or_unsigned_answers_are_refused_and_kept(
    logged_in, client_account, change, message
):
    data = form_data(client_account, areas_to_avoid="Left shoulder", **change)
    data = {k: v for k, v in data.items() if v != ""}

    response = logged_in.post(NEW, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'value="Left shoulder"' in html
    assert not HealthScreening.objects.exists()


def test_after_submitting_the_booking_in_progress_continues(logged_in, client_account):
    next_url = "/book/ashiatsu/?start=2026-12-06T10:00Z&therapist=any"

    response = logged_in.post(NEW, {**form_data(client_account), "next": next_url})

    assert response.url == next_url


def test_next_pointing_elsewhere_is_ignored(logged_in, client_account):
    response = logged_in.post(NEW, {**form_data(client_account), "next": "https://evil.example/"})

    assert response.url == MINE


def test_my_screening_shows_status_and_validity(logged_in, client_account):
    assert "You have not filled in a health screening yet" in logged_in.get(MINE).content.decode()

    screen(client_account)
    response = logged_in.get(MINE)

    html = response.content.decode()
    assert "Cleared" in html
    assert "1 December 2027" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_my_screening_says_when_it_has_expired(logged_in, client_account):
    with time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        screen(client_account)

    assert "Expired" in logged_in.get(MINE).content.decode()


def test_not_eligible_explains_the_doctors_note(logged_in, client_account):
    screen(client_account, pregnant=True)

    html = logged_in.get(MINE).content.decode()

    assert "not safe for you at the moment" in html
    assert "a note from them" in html


def test_screening_pages_need_a_client_account(client, staff_user):
    force_login_verified(client, staff_user)

    assert client.get(NEW).status_code == 302
    assert client.get(MINE).status_code == 302
    assert client.post(NEW, {"pregnant": "no"}).status_code == 302
    assert not HealthScreening.objects.exists()


def test_screening_pages_need_login(client):
    assert client.get(NEW).url.startswith(reverse("clients:login"))
