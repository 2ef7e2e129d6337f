"""Health screenings for tests, submitted through the real service."""

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
        "fragile_bones": "no",
        "spinal_cord_injury": "no",
        "blood_clots_or_thinners": "no",
        "serious_heart_condition": "no",
        "blood_pressure": "normal",
        "disc_disorder": "no",
        "back_pain_under_care": "no",
        "recent_surgery": "no",
        "recent_fracture": "no",
        "recent_muscle_tear": "no",
        "other_conditions": "",
        "pressure_preference": "medium",
        "areas_to_avoid": "",
        "consent": "on",
        "signature_name": client.full_name,
    }
    data.update(overrides)
    return data
