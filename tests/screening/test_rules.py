"""The health screening triage: answers in, outcome out (no database, no Django)."""

import datetime
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.rules import (
    FRACTURE_RECOVERY,
    MUSCLE_TEAR_RECOVERY,
    SURGERY_RECOVERY,
    Answers,
    BloodPressure,
    Outcome,
    Pressure,
    Triage,
    nothing_to_declare,
    triage,
    valid_until,
)

TODAY = datetime.date(2026, 11, 20)
DAY = datetime.timedelta(days=1)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def answers(**changes) -> Answers:
    """A healthy client's answers, with `changes`."""
    return nothing_to_declare(**changes)


def triage_of(**changes) -> Triage:
    return triage(answers(**changes), today=TODAY)


# Cleared


def test_healthy_answers_are_cleared():
    result = triage_of()

    assert result == Triage(Outcome.CLEARED, None, (), ("Prefers medium pressure",))


# Not eligible: one reason per condition


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pregnant": True}, "Pregnancy"),
        ({"fragile_bones": True}, "Osteoporosis or fragile bones"),
        ({"spinal_cord_injury": True}, "Spinal cord injury"),
        ({"blood_clots_or_thinners": True}, "Blood clots or blood thinners"),
        ({"serious_heart_condition": True}, "Serious heart condition"),
        ({"blood_pressure": BloodPressure.UNCONTROLLED}, "Uncontrolled high blood pressure"),
    ],
    ids=[
        "pregnancy",
        "fragile_bones",
        "spinal_cord_injury",
        "blood_clots_or_thinners",
        "serious_heart_condition",
        "uncontrolled_blood_pressure",
    ],
)
def test_each_dangerous_condition_is_not_eligible_with_its_reason(change, reason):
    result = triage_of(**change)

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.reasons == (reason,)
    assert result.eligible_from is None


def test_pregnancy_is_not_eligible():
    assert triage_of(pregnant=True).outcome == Outcome.NOT_ELIGIBLE


def test_every_dangerous_condition_is_listed_in_questionnaire_order():
    result = triage_of(
        blood_pressure=BloodPressure.UNCONTROLLED,
        serious_heart_condition=True,
        blood_clots_or_thinners=True,
        spinal_cord_injury=True,
        fragile_bones=True,
        pregnant=True,
    )

    assert result.reasons == (
        "Pregnancy",
        "Osteoporosis or fragile bones",
        "Spinal cord injury",
        "Blood clots or blood thinners",
        "Serious heart condition",
        "Uncontrolled high blood pressure",
    )


def test_normal_blood_pressure_is_no_condition():
    result = triage_of(blood_pressure=BloodPressure.NORMAL)

    assert result.outcome == Outcome.CLEARED


# Recovery waits


@pytest.mark.parametrize(
    ("field", "recovery", "label"),
    [
        ("surgery_on", SURGERY_RECOVERY, "Recent surgery"),
        ("fracture_on", FRACTURE_RECOVERY, "Recent fracture"),
        ("muscle_tear_on", MUSCLE_TEAR_RECOVERY, "Recent muscle tear"),
    ],
)
class TestRecoveryWait:
    def test_recent_injury_waits_until_the_recovery_is_over(self, field, recovery, label):
        injured_on = TODAY - 2 * DAY

        result = triage_of(**{field: injured_on})

        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
        assert result.eligible_from == injured_on + recovery
        assert len(result.reasons) == 1
        assert result.reasons[0].startswith(f"{label} (on 18 November 2026): back-walking from ")

    def test_the_day_before_eligible_from_still_waits(self, field, recovery, label):
        injured_on = TODAY - recovery + DAY  # eligible from tomorrow

        result = triage_of(**{field: injured_on})

        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
        assert result.eligible_from == TODAY + DAY

    def test_on_eligible_from_itself_the_wait_is_over(self, field, recovery, label):
        injured_on = TODAY - recovery  # eligible from today

        result = triage_of(**{field: injured_on})

        assert result.outcome == Outcome.CLEARED
        assert result.eligible_from is None
        assert result.reasons == ()


def test_recent_surgery_reason_spells_out_both_dates():
    result = triage(answers(surgery_on=datetime.date(2026, 11, 3)), today=TODAY)

    assert result.eligible_from == datetime.date(2027, 1, 26)
    assert result.reasons == (
        "Recent surgery (on 3 November 2026): back-walking from 26 January 2027",
    )


def test_surgery_and_fracture_wait_twelve_weeks_and_a_muscle_tear_six():
    injured_on = datetime.date(2026, 11, 1)

    assert triage_of(surgery_on=injured_on).eligible_from == datetime.date(2027, 1, 24)
    assert triage_of(fracture_on=injured_on).eligible_from == datetime.date(2027, 1, 24)
    assert triage_of(muscle_tear_on=injured_on).eligible_from == datetime.date(2026, 12, 13)


def test_several_injuries_wait_for_the_latest_recovery_and_list_each():
    result = triage_of(
        surgery_on=datetime.date(2026, 9, 1),  # from 24 November 2026
        fracture_on=datetime.date(2026, 10, 1),  # from 24 December 2026
        muscle_tear_on=datetime.date(2026, 11, 15),  # from 27 December 2026
    )

    assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
    assert result.eligible_from == datetime.date(2026, 12, 27)
    assert result.reasons == (
        "Recent surgery (on 1 September 2026): back-walking from 24 November 2026",
        "Recent fracture (on 1 October 2026): back-walking from 24 December 2026",
        "Recent muscle tear (on 15 November 2026): back-walking from 27 December 2026",
    )


def test_an_injury_whose_recovery_is_over_gives_no_reason_beside_one_that_is_not():
    result = triage_of(
        surgery_on=datetime.date(2026, 1, 5),  # over long ago
        muscle_tear_on=datetime.date(2026, 11, 15),
    )

    assert result.eligible_from == datetime.date(2026, 12, 27)
    assert result.reasons == (
        "Recent muscle tear (on 15 November 2026): back-walking from 27 December 2026",
    )


def test_reasons_never_show_iso_dates():
    result = triage_of(
        surgery_on=TODAY, fracture_on=TODAY, muscle_tear_on=TODAY, disc_disorder=True
    )

    assert len(result.reasons) == 4
    assert not any(ISO_DATE.search(reason) for reason in result.reasons)


def test_an_injury_date_at_the_end_of_the_calendar_waits_instead_of_crashing():
    result = triage_of(surgery_on=datetime.date.max)

    assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
    assert result.eligible_from == datetime.date.max


# Needs review


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"disc_disorder": True}, "Disc problem"),
        ({"back_pain_under_care": True}, "Back pain under medical care"),
        ({"blood_pressure": BloodPressure.CONTROLLED}, "High blood pressure (controlled)"),
        ({"other_conditions": "  asthma\n"}, "Other condition: asthma"),
    ],
    ids=["disc_disorder", "back_pain_under_care", "controlled_blood_pressure", "other"],
)
def test_each_condition_a_rule_cannot_judge_needs_review(change, reason):
    result = triage_of(**change)

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.reasons == (reason,)
    assert result.eligible_from is None


def test_blank_other_conditions_are_no_condition():
    result = triage_of(other_conditions=" \n\t ")

    assert result.outcome == Outcome.CLEARED


def test_a_long_other_condition_is_quoted_up_to_200_characters():
    result = triage_of(other_conditions="  " + "a" * 199 + "bcdef")

    assert result.reasons == ("Other condition: " + "a" * 199 + "b",)


def test_review_reasons_come_in_questionnaire_order():
    result = triage_of(
        other_conditions="asthma",
        blood_pressure=BloodPressure.CONTROLLED,
        back_pain_under_care=True,
        disc_disorder=True,
    )

    assert result.reasons == (
        "Disc problem",
        "Back pain under medical care",
        "High blood pressure (controlled)",
        "Other condition: asthma",
    )


# Combinations


def test_not_eligible_beats_review_and_waiting_and_lists_only_what_makes_it_not_eligible():
    result = triage_of(
        pregnant=True, disc_disorder=True, surgery_on=TODAY, other_conditions="asthma"
    )

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.reasons == ("Pregnancy",)
    assert result.eligible_from is None


def test_review_beats_waiting_and_keeps_eligible_from_and_the_wait_reason():
    result = triage_of(disc_disorder=True, fracture_on=datetime.date(2026, 11, 3))

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.eligible_from == datetime.date(2027, 1, 26)
    assert result.reasons == (
        "Recent fracture (on 3 November 2026): back-walking from 26 January 2027",
        "Disc problem",
    )


def test_review_after_a_recovery_that_is_over_has_no_eligible_from():
    result = triage_of(back_pain_under_care=True, fracture_on=datetime.date(2026, 1, 3))

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.eligible_from is None
    assert result.reasons == ("Back pain under medical care",)


# Therapist notes


@pytest.mark.parametrize(
    ("pressure", "note"),
    [
        (Pressure.LIGHT, "Prefers light pressure"),
        (Pressure.MEDIUM, "Prefers medium pressure"),
        (Pressure.FIRM, "Prefers firm pressure"),
    ],
)
def test_notes_always_give_the_pressure_preference(pressure, note):
    assert triage_of(pressure_preference=pressure).therapist_notes == (note,)


def test_notes_name_the_areas_to_avoid():
    result = triage_of(areas_to_avoid="  left shoulder \n")

    assert result.therapist_notes == ("Prefers medium pressure", "Avoid: left shoulder")


def test_blank_areas_to_avoid_give_no_note():
    assert triage_of(areas_to_avoid="   ").therapist_notes == ("Prefers medium pressure",)


def test_a_long_area_to_avoid_is_quoted_up_to_200_characters():
    result = triage_of(areas_to_avoid="x" * 250)

    assert result.therapist_notes[1] == "Avoid: " + "x" * 200


def test_controlled_blood_pressure_tells_the_therapist_to_check_comfort():
    result = triage_of(
        blood_pressure=BloodPressure.CONTROLLED,
        areas_to_avoid="neck",
        pressure_preference=Pressure.FIRM,
    )

    assert result.therapist_notes == (
        "Prefers firm pressure",
        "Avoid: neck",
        "Controlled high blood pressure: check comfort and breathing",
    )


def test_notes_never_repeat_the_medical_answers():
    result = triage_of(disc_disorder=True, other_conditions="asthma", surgery_on=TODAY)

    assert result.therapist_notes == ("Prefers medium pressure",)


def test_not_eligible_answers_still_carry_the_notes():
    result = triage_of(pregnant=True, areas_to_avoid="lower back")

    assert result.therapist_notes == ("Prefers medium pressure", "Avoid: lower back")


# JSON


FULL = answers(
    pregnant=True,
    blood_pressure=BloodPressure.CONTROLLED,
    disc_disorder=True,
    surgery_on=datetime.date(2026, 11, 3),
    muscle_tear_on=datetime.date(2024, 2, 29),
    other_conditions="asthma",
    pressure_preference=Pressure.LIGHT,
    areas_to_avoid="left shoulder",
)

FULL_JSON = {
    "pregnant": True,
    "fragile_bones": False,
    "spinal_cord_injury": False,
    "blood_clots_or_thinners": False,
    "serious_heart_condition": False,
    "blood_pressure": "controlled",
    "disc_disorder": True,
    "back_pain_under_care": False,
    "surgery_on": "2026-11-03",
    "fracture_on": None,
    "muscle_tear_on": "2024-02-29",
    "other_conditions": "asthma",
    "pressure_preference": "light",
    "areas_to_avoid": "left shoulder",
}


def test_answers_become_plain_json_values():
    data = FULL.to_json()

    assert data == FULL_JSON
    assert type(data["blood_pressure"]) is str
    assert type(data["pressure_preference"]) is str


def test_answers_survive_a_trip_through_json_text():
    assert Answers.from_json(json.loads(json.dumps(FULL.to_json()))) == FULL


def test_answers_from_json_have_enums_and_dates():
    result = Answers.from_json(FULL_JSON)

    assert result.blood_pressure is BloodPressure.CONTROLLED
    assert result.pressure_preference is Pressure.LIGHT
    assert result.surgery_on == datetime.date(2026, 11, 3)


def test_from_json_rejects_a_missing_key():
    data = dict(FULL_JSON)
    del data["fracture_on"]

    with pytest.raises(ValueError, match="missing fracture_on"):
        Answers.from_json(data)


def test_from_json_rejects_an_unknown_key():
    with pytest.raises(ValueError, match="unknown keys: smoker"):
        Answers.from_json({**FULL_JSON, "smoker": True})


@pytest.mark.parametrize("data", [None, [], "answers", 1])
def test_from_json_rejects_anything_but_an_object(data):
    with pytest.raises(ValueError, match="must be an object"):
        Answers.from_json(data)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pregnant", "yes", "pregnant must be true or false"),
        ("pregnant", 1, "pregnant must be true or false"),
        ("pregnant", None, "pregnant must be true or false"),
        ("blood_pressure", "high", "blood_pressure must be one of normal, controlled"),
        ("blood_pressure", ["normal"], "blood_pressure must be one of"),
        ("pressure_preference", "LIGHT", "pressure_preference must be one of light"),
        ("surgery_on", "3 November 2026", "surgery_on must be null or a date"),
        ("surgery_on", "2026-02-30", "surgery_on must be null or a date"),
        ("surgery_on", "20261103", "surgery_on must be null or a date"),
        ("surgery_on", "2026-11-03T10:00", "surgery_on must be null or a date"),
        ("fracture_on", 20261103, "fracture_on must be null or a date"),
        ("other_conditions", None, "other_conditions must be a string"),
        ("areas_to_avoid", ["neck"], "areas_to_avoid must be a string"),
    ],
)
def test_from_json_rejects_a_bad_value(key, value, message):
    with pytest.raises(ValueError, match=message):
        Answers.from_json({**FULL_JSON, key: value})


def test_from_json_errors_never_repeat_the_health_answer():
    with pytest.raises(ValueError) as error:
        Answers.from_json({**FULL_JSON, "other_conditions": ["HIV positive"]})

    assert "HIV" not in str(error.value)


# Validity


@pytest.mark.parametrize(
    ("submitted_on", "months", "last_day"),
    [
        (datetime.date(2026, 3, 15), 12, datetime.date(2027, 3, 15)),
        (datetime.date(2026, 3, 15), 1, datetime.date(2026, 4, 15)),
        (datetime.date(2026, 11, 30), 3, datetime.date(2027, 2, 28)),
        (datetime.date(2026, 12, 31), 1, datetime.date(2027, 1, 31)),
        (datetime.date(2026, 1, 31), 1, datetime.date(2026, 2, 28)),
        (datetime.date(2026, 5, 31), 1, datetime.date(2026, 6, 30)),
        (datetime.date(2026, 8, 31), 6, datetime.date(2027, 2, 28)),
        (datetime.date(2027, 8, 31), 6, datetime.date(2028, 2, 29)),  # leap year
        (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 2, 29), 48, datetime.date(2028, 2, 29)),
        (datetime.date(2099, 8, 31), 6, datetime.date(2100, 2, 28)),  # 2100 is not a leap year
        (datetime.date(2026, 6, 1), 24, datetime.date(2028, 6, 1)),
    ],
)
def test_valid_until_is_the_same_day_months_later_or_the_end_of_the_month(
    submitted_on, months, last_day
):
    assert valid_until(submitted_on, months) == last_day


@pytest.mark.parametrize("months", [0, -1, -12])
def test_valid_until_needs_at_least_one_month(months):
    with pytest.raises(ValueError, match="at least 1 month"):
        valid_until(TODAY, months)


def test_valid_until_past_year_9999_is_a_value_error():
    with pytest.raises(ValueError):
        valid_until(datetime.date(9999, 6, 1), 12)


# Properties

optional_dates = st.none() | st.dates()
answers_strategy = st.builds(
    Answers,
    pregnant=st.booleans(),
    fragile_bones=st.booleans(),
    spinal_cord_injury=st.booleans(),
    blood_clots_or_thinners=st.booleans(),
    serious_heart_condition=st.booleans(),
    blood_pressure=st.sampled_from(BloodPressure),
    disc_disorder=st.booleans(),
    back_pain_under_care=st.booleans(),
    surgery_on=optional_dates,
    fracture_on=optional_dates,
    muscle_tear_on=optional_dates,
    other_conditions=st.text(max_size=300),
    pressure_preference=st.sampled_from(Pressure),
    areas_to_avoid=st.text(max_size=300),
)


def waiting_until(answers: Answers, today: datetime.date) -> list[int]:
    """Ordinals of the first allowed days still ahead (ordinals: no date overflow)."""
    injuries = [
        (answers.surgery_on, SURGERY_RECOVERY),
        (answers.fracture_on, FRACTURE_RECOVERY),
        (answers.muscle_tear_on, MUSCLE_TEAR_RECOVERY),
    ]
    ends = [day.toordinal() + wait.days for day, wait in injuries if day is not None]
    return [end for end in ends if end > today.toordinal()]


@given(answers_strategy, st.dates())
def test_triage_outcome_follows_the_conditions(answers, today):
    result = triage(answers, today=today)

    not_eligible = (
        answers.pregnant
        or answers.fragile_bones
        or answers.spinal_cord_injury
        or answers.blood_clots_or_thinners
        or answers.serious_heart_condition
        or answers.blood_pressure == BloodPressure.UNCONTROLLED
    )
    review = (
        answers.disc_disorder
        or answers.back_pain_under_care
        or answers.blood_pressure == BloodPressure.CONTROLLED
        or answers.other_conditions.strip() != ""
    )
    waits = waiting_until(answers, today)

    if not_eligible:
        assert result.outcome == Outcome.NOT_ELIGIBLE
        assert result.eligible_from is None
        assert result.reasons
    elif review:
        assert result.outcome == Outcome.NEEDS_REVIEW
        assert len(result.reasons) >= 1 + len(waits)
    elif waits:
        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
        assert len(result.reasons) == len(waits)
    else:
        assert result.outcome == Outcome.CLEARED
        assert result.reasons == ()
        assert result.eligible_from is None

    if result.outcome in (Outcome.NEEDS_REVIEW, Outcome.NOT_ELIGIBLE_UNTIL) and waits:
        assert result.eligible_from is not None
        assert result.eligible_from > today
        assert result.eligible_from.toordinal() == min(max(waits), datetime.date.max.toordinal())
    elif result.outcome != Outcome.NOT_ELIGIBLE:
        assert result.eligible_from is None

    assert result.therapist_notes[0].startswith("Prefers ")
    assert all(len(reason) <= 250 for reason in result.reasons)
    assert all(len(note) <= 250 for note in result.therapist_notes)


@given(answers_strategy)
def test_answers_survive_any_json_round_trip(answers):
    assert Answers.from_json(json.loads(json.dumps(answers.to_json()))) == answers


@given(st.dates(max_value=datetime.date(9000, 12, 31)), st.integers(min_value=1, max_value=120))
def test_valid_until_lands_in_the_right_month_never_after_the_same_day(submitted_on, months):
    last_day = valid_until(submitted_on, months)

    month_count = (last_day.year - submitted_on.year) * 12 + last_day.month - submitted_on.month
    assert month_count == months
    assert last_day.day <= submitted_on.day
    if last_day.day < submitted_on.day:
        assert (last_day + DAY).day == 1  # clamped: the month's last day
