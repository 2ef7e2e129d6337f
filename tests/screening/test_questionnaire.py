"""The version 2 questionnaire: the form's answers, and how reviewers see any version's."""

import dataclasses
import datetime

import pytest
from django.utils import timezone

from screening import rules
from screening.forms import ScreeningForm
from screening.models import HealthScreening
from tests.factories import ClientFactory
from tests.screenings import form_data, review_url, screen, version_1_answers

pytestmark = pytest.mark.usefixtures("frozen_clock")

TODAY = datetime.date(2026, 12, 1)  # NOW's day in the spa's time zone


def submitted(**overrides) -> ScreeningForm:
    form = ScreeningForm(data=form_data(ClientFactory.build(full_name="Ana Example"), **overrides))
    form.is_valid()
    return form


# The form


def test_a_healthy_client_declares_nothing():
    form = submitted()

    assert form.errors == {}
    assert form.answers() == rules.nothing_to_declare()


YES_NO_ANSWERS = [
    field.name
    for field in dataclasses.fields(rules.Answers)
    if field.type is bool and field.name in ScreeningForm.base_fields
]


def test_every_yes_no_answer_is_a_question_of_its_own():
    bools = [field.name for field in dataclasses.fields(rules.Answers) if field.type is bool]

    assert bools == YES_NO_ANSWERS
    assert len(bools) == 21


@pytest.mark.parametrize("name", YES_NO_ANSWERS)
def test_yes_to_a_question_is_that_answer_and_no_other(name):
    form = submitted(**{name: "yes"})

    assert form.errors == {}
    assert form.answers() == rules.nothing_to_declare(**{name: True})


def test_unwell_today_is_recorded_as_the_day_the_client_answered():
    form = submitted(unwell="yes")

    assert form.answers().unwell_on == TODAY
    assert rules.triage(form.answers(), today=TODAY).eligible_from == TODAY + datetime.timedelta(
        days=7
    )


def test_a_birth_date_counts_only_after_yes():
    date = {"gave_birth_on_0": "1", "gave_birth_on_1": "10", "gave_birth_on_2": "2026"}

    assert submitted(recent_birth="yes", **date).answers().gave_birth_on == datetime.date(
        2026, 10, 1
    )
    assert submitted(recent_birth="no", **date).answers().gave_birth_on is None


def test_a_birth_date_in_the_future_is_refused():
    form = submitted(
        recent_birth="yes", gave_birth_on_0="2", gave_birth_on_1="12", gave_birth_on_2="2026"
    )

    assert form.errors == {"gave_birth_on": ["Date of the birth must be today or in the past."]}


def test_free_text_is_kept_trimmed():
    answers = submitted(other_conditions="  asthma \n", areas_to_avoid=" neck ").answers()

    assert (answers.other_conditions, answers.areas_to_avoid) == ("asthma", "neck")


def test_a_disc_problem_from_the_form_needs_a_doctors_note():
    answers = submitted(disc_disorder="yes").answers()

    assert rules.triage(answers, today=TODAY).outcome == rules.Outcome.DOCTORS_NOTE


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ("pregnant", "Are you pregnant, or could you be?"),
        ("surgery_on", "Have you had surgery in the last 6 months?"),
        ("gave_birth_on", "Have you given birth in the last 6 months?"),
        ("unwell_on", "Do you have a fever or an infection, or feel unwell, today?"),
        ("hernia", "Do you have a hernia that has not been repaired?"),
    ],
)
def test_each_answer_has_its_question(answer, question):
    assert ScreeningForm.question_for(answer) == question


def test_every_answer_of_every_version_has_a_question():
    for names in rules.ANSWER_NAMES.values():
        for name in names:
            assert ScreeningForm.question_for(name)


# What a reviewer sees

VERSION_1_ANSWERS = version_1_answers(
    blood_pressure="controlled",
    disc_disorder=True,
    surgery_on="2026-11-03",
    other_conditions="Sciatica",
    pressure_preference="light",
)
VERSION_2_ONLY = [
    "Do you have a fever or an infection",
    "aortic aneurysm",
    "varicose veins",
    "given birth",
    "kidney disease",
    "a hernia that",
    "steroid tablets",
]


def version_1_screening(version: int = 1) -> HealthScreening:
    """A screening stored before version 2, as the database still holds it."""
    return HealthScreening.objects.create(
        client=ClientFactory(),
        questionnaire_version=version,
        answers=VERSION_1_ANSWERS,
        signature_name="Vera Version",
        consented_at=timezone.now(),
        outcome=HealthScreening.Outcome.NEEDS_REVIEW,
        reasons=["Disc problem"],
        therapist_notes=["Prefers light pressure"],
        valid_until=datetime.date(2027, 11, 1),
        review=HealthScreening.Review.PENDING,
    )


def answers_html(page: str) -> str:
    start = page.index("Questionnaire version")
    return page[start : page.index("</table>", start)]


@pytest.mark.django_db
def test_a_version_1_screening_shows_only_the_questions_it_asked(reviewer_http):
    screening = version_1_screening()

    html = answers_html(reviewer_http.get(review_url(screening)).content.decode())

    assert "Questionnaire version 1" in html
    assert html.count("<tr>") == 14
    assert "herniated disc" in html
    assert "Have you had surgery in the last 6 months?</th><td>Yes, on 3 November 2026" in html
    assert "Have you broken a bone in the last 6 months?</th><td>No" in html
    assert "Yes, and it is under control" in html
    assert "Sciatica" in html
    for question in VERSION_2_ONLY:
        assert question not in html


@pytest.mark.django_db
def test_a_version_2_screening_shows_every_question(reviewer_http):
    screening = screen(
        ClientFactory(), hernia=True, gave_birth_on=datetime.date(2026, 10, 1), unwell_on=TODAY
    )

    html = answers_html(reviewer_http.get(review_url(screening)).content.decode())

    assert "Questionnaire version 2" in html
    assert html.count("<tr>") == len(rules.ANSWER_NAMES[2])
    assert "Do you have a hernia that has not been repaired?</th><td>Yes" in html
    assert "Have you given birth in the last 6 months?</th><td>Yes, on 1 October 2026" in html
    assert "feel unwell, today?</th><td>Yes, on 1 December 2026" in html
    assert "Do you have kidney disease?</th><td>No" in html


@pytest.mark.django_db
def test_answers_that_do_not_match_their_version_are_not_shown(reviewer_http):
    screening = version_1_screening(version=2)  # version 2 lacking its new questions

    page = reviewer_http.get(review_url(screening)).content.decode()

    assert "These answers do not match questionnaire version 2: not shown." in page
    assert "Sciatica" not in page
