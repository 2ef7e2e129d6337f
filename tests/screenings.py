"""Health screenings for tests, submitted through the real service."""

from django.urls import reverse

from clients.models import Client
from screening import rules
from screening.models import HealthScreening
from screening.services import submit_screening


def answers(**changes) -> rules.Answers:
    return rules.nothing_to_declare(**changes)


def screen(client: Client, **changes) -> HealthScreening:
    """Submit a screening for `client`: healthy unless told otherwise."""
    return submit_screening(
        client=client,
        answers=answers(**changes),
        signature_name=client.full_name,
        consent=True,
    ).screening


def form_data(client: Client, **overrides) -> dict:
    """The questionnaire as a healthy client posts it."""
    data = {
        "pregnant": "no",
        "unwell": "no",
        "fragile_bones": "no",
        "spinal_cord_injury": "no",
        "disc_disorder": "no",
        "spine_condition": "no",
        "spinal_surgery": "no",
        "spine_or_rib_fracture": "no",
        "back_pain_under_care": "no",
        "blood_clots_or_thinners": "no",
        "serious_heart_condition": "no",
        "blood_pressure": "normal",
        "aortic_aneurysm": "no",
        "varicose_veins": "no",
        "joint_replacement": "no",
        "hypermobility": "no",
        "inflammatory_arthritis": "no",
        "skin_condition": "no",
        "reduced_feeling": "no",
        "cancer": "no",
        "kidney_disease": "no",
        "hernia": "no",
        "long_term_steroids": "no",
        "recent_surgery": "no",
        "recent_fracture": "no",
        "recent_muscle_tear": "no",
        "recent_birth": "no",
        "other_conditions": "",
        "pressure_preference": "medium",
        "areas_to_avoid": "",
        "consent": "on",
        "signature_name": client.full_name,
    }
    data.update(overrides)
    return data


def review_url(screening: HealthScreening) -> str:
    """The screening's admin page, where reviewers decide."""
    return reverse("admin:screening_healthscreening_change", args=[screening.pk])


def decide(
    http, screening: HealthScreening, decision: str, note: str = "", therapist_note: str = ""
):
    """Post a reviewer's decision on the screening's admin page."""
    return http.post(
        review_url(screening),
        {"decision": decision, "note": note, "therapist_note_text": therapist_note},
    )


def version_1_answers(**changes) -> dict:
    """Answers as stored under questionnaire version 1 (its 14 questions, as JSON): a
    healthy client's unless told otherwise."""
    answers = {
        "pregnant": False,
        "fragile_bones": False,
        "spinal_cord_injury": False,
        "blood_clots_or_thinners": False,
        "serious_heart_condition": False,
        "blood_pressure": "normal",
        "disc_disorder": False,
        "back_pain_under_care": False,
        "surgery_on": None,
        "fracture_on": None,
        "muscle_tear_on": None,
        "other_conditions": "",
        "pressure_preference": "medium",
        "areas_to_avoid": "",
    }
    return answers | changes
