"""The health screening triage: answers in, outcome out (no database, no Django)."""

import datetime
import json
import pathlib
import re
from dataclasses import dataclass, fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.rules import (
    ANSWER_NAMES,
    CHILDBIRTH_RECOVERY,
    FRACTURE_RECOVERY,
    ILLNESS_RECOVERY,
    MUSCLE_TEAR_RECOVERY,
    QUESTIONNAIRE_VERSION,
    SURGERY_RECOVERY,
    Answers,
    BloodPressure,
    Outcome,
    Pressure,
    Triage,
    answers_as_asked,
    nothing_to_declare,
    triage,
    valid_until,
)
from tests.screenings import version_1_answers

TODAY = datetime.date(2026, 11, 20)
DAY = datetime.timedelta(days=1)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "SCREENING.md"
EARLIER = datetime.date(2026, 11, 3)  # the date of the recent events below


def answers(**changes) -> Answers:
    """A healthy client's answers, with `changes`."""
    return nothing_to_declare(**changes)


def triage_of(**changes) -> Triage:
    return triage(answers(**changes), today=TODAY)


# Cleared


def test_healthy_answers_are_cleared():
    result = triage_of()

    assert result == Triage(
        outcome=Outcome.CLEARED,
        eligible_from=None,
        reasons=(),
        therapist_notes=("Prefers medium pressure",),
        note_can_clear=True,
    )


def test_the_questionnaire_is_version_2():
    assert QUESTIONNAIRE_VERSION == 2


# Every row of the table in docs/SCREENING.md


@dataclass(frozen=True)
class Row:
    key: str  # the table's "Answer" column
    change: dict
    outcome: Outcome
    reason: str = ""  # "" for a row that only tells the therapist something
    note_can_clear: bool = True
    eligible_from: datetime.date | None = None
    therapist_note: str = ""


def doctors_note(key: str, reason: str) -> Row:
    return Row(key, {key: True}, Outcome.DOCTORS_NOTE, reason)


def recent(key: str, label: str, eligible_from: datetime.date, spelled_out: str) -> Row:
    return Row(
        key,
        {key: EARLIER},
        Outcome.NOT_ELIGIBLE_UNTIL,
        f"{label} (on 3 November 2026): back-walking from {spelled_out}",
        eligible_from=eligible_from,
    )


ROWS = [
    Row("pregnant", {"pregnant": True}, Outcome.NOT_ELIGIBLE, "Pregnancy", note_can_clear=False),
    Row(
        "unwell_on",
        {"unwell_on": TODAY},
        Outcome.NOT_ELIGIBLE_UNTIL,
        "Fever or feeling unwell (on 20 November 2026): back-walking from 27 November 2026",
        eligible_from=datetime.date(2026, 11, 27),
        therapist_note="Was unwell when screened: ask on the day; no back-walking with a fever",
    ),
    Row(
        "fragile_bones",
        {"fragile_bones": True},
        Outcome.NOT_ELIGIBLE,
        "Osteoporosis or fragile bones",
    ),
    Row(
        "spinal_cord_injury",
        {"spinal_cord_injury": True},
        Outcome.NOT_ELIGIBLE,
        "Spinal cord injury",
        note_can_clear=False,
    ),
    doctors_note("disc_disorder", "Disc problem"),
    doctors_note("spine_condition", "Scoliosis, slipped vertebra or spinal stenosis"),
    doctors_note("spinal_surgery", "Spinal surgery (at any time)"),
    doctors_note("spine_or_rib_fracture", "Broken vertebra or rib (at any time)"),
    Row(
        "back_pain_under_care",
        {"back_pain_under_care": True},
        Outcome.NEEDS_REVIEW,
        "Back pain under medical care",
    ),
    Row(
        "blood_clots_or_thinners",
        {"blood_clots_or_thinners": True},
        Outcome.NOT_ELIGIBLE,
        "Blood clots or blood thinners",
    ),
    Row(
        "serious_heart_condition",
        {"serious_heart_condition": True},
        Outcome.NOT_ELIGIBLE,
        "Serious heart condition",
    ),
    Row(
        "blood_pressure = uncontrolled",
        {"blood_pressure": BloodPressure.UNCONTROLLED},
        Outcome.NOT_ELIGIBLE,
        "Uncontrolled high blood pressure",
    ),
    Row(
        "blood_pressure = controlled",
        {"blood_pressure": BloodPressure.CONTROLLED},
        Outcome.NEEDS_REVIEW,
        "High blood pressure (controlled)",
        therapist_note="Controlled high blood pressure: check comfort and breathing",
    ),
    Row(
        "aortic_aneurysm",
        {"aortic_aneurysm": True},
        Outcome.NOT_ELIGIBLE,
        "Aortic aneurysm",
        note_can_clear=False,
    ),
    Row(
        "varicose_veins",
        {"varicose_veins": True},
        Outcome.CLEARED,
        therapist_note="Varicose veins: no pressure on the veins of the legs",
    ),
    Row(
        "joint_replacement",
        {"joint_replacement": True},
        Outcome.CLEARED,
        therapist_note="Joint replacement: ask which joint; no pressure or stretch on it",
    ),
    Row(
        "hypermobility",
        {"hypermobility": True},
        Outcome.NEEDS_REVIEW,
        "Hypermobile joints",
        therapist_note="Hypermobile joints: no stretching, keep the joints supported",
    ),
    doctors_note("inflammatory_arthritis", "Inflammatory arthritis"),
    Row(
        "skin_condition",
        {"skin_condition": True},
        Outcome.NEEDS_REVIEW,
        "Skin condition, wound or infection on the back or legs",
        therapist_note="Skin condition, wound or infection on the back or legs: "
        "look first, never step on it",
    ),
    Row(
        "reduced_feeling",
        {"reduced_feeling": True},
        Outcome.NEEDS_REVIEW,
        "Reduced feeling (neuropathy or diabetes)",
        therapist_note="Reduced feeling: may not feel too much pressure; go lighter, "
        "check in often",
    ),
    doctors_note("cancer", "Cancer or cancer treatment"),
    doctors_note("kidney_disease", "Kidney disease"),
    doctors_note("hernia", "Hernia (not repaired)"),
    doctors_note("long_term_steroids", "Long-term steroid tablets"),
    recent("surgery_on", "Recent surgery", datetime.date(2027, 1, 26), "26 January 2027"),
    recent("fracture_on", "Recent fracture", datetime.date(2027, 1, 26), "26 January 2027"),
    recent("muscle_tear_on", "Recent muscle tear", datetime.date(2026, 12, 15), "15 December 2026"),
    recent("gave_birth_on", "Recent childbirth", datetime.date(2027, 1, 26), "26 January 2027"),
    Row(
        "other_conditions",
        {"other_conditions": "  asthma\n"},
        Outcome.NEEDS_REVIEW,
        "Other condition: asthma",
    ),
    Row(
        "areas_to_avoid",
        {"areas_to_avoid": " left shoulder "},
        Outcome.NEEDS_REVIEW,
        "Areas to avoid: left shoulder",
        therapist_note="Avoid: left shoulder",
    ),
    Row(
        "pressure_preference",
        {"pressure_preference": Pressure.FIRM},
        Outcome.CLEARED,
        therapist_note="Prefers firm pressure",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_each_answer_gives_the_outcome_its_table_row_says(row):
    result = triage_of(**row.change)

    assert result.outcome == row.outcome
    assert result.note_can_clear is row.note_can_clear
    assert result.eligible_from == row.eligible_from
    assert result.reasons == ((row.reason,) if row.reason else ())
    if row.therapist_note:
        assert row.therapist_note in result.therapist_notes


def documented_rows() -> dict[str, tuple[str, str]]:
    """docs/SCREENING.md's table of conditions: answer -> (outcome, doctor's note column)."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = (cells[2].strip("`"), cells[3])
    return rows


def test_the_table_in_the_docs_has_these_rows_with_the_same_outcomes():
    documented = documented_rows()

    assert list(documented) == [row.key for row in ROWS]
    for row in ROWS:
        outcome, doctors_note_column = documented[row.key]
        assert outcome == row.outcome.value, row.key
        assert (doctors_note_column == "never") is (not row.note_can_clear), row.key


def test_every_answer_has_a_row():
    assert {row.key.split(" = ")[0] for row in ROWS} == set(ANSWER_NAMES[QUESTIONNAIRE_VERSION])
    assert [field.name for field in fields(Answers)] == list(ANSWER_NAMES[2])


# Not eligible


def test_every_dangerous_condition_is_listed_in_questionnaire_order():
    result = triage_of(
        aortic_aneurysm=True,
        blood_pressure=BloodPressure.UNCONTROLLED,
        serious_heart_condition=True,
        blood_clots_or_thinners=True,
        spinal_cord_injury=True,
        fragile_bones=True,
        pregnant=True,
    )

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.reasons == (
        "Pregnancy",
        "Osteoporosis or fragile bones",
        "Spinal cord injury",
        "Blood clots or blood thinners",
        "Serious heart condition",
        "Uncontrolled high blood pressure",
        "Aortic aneurysm",
    )


def test_normal_blood_pressure_is_no_condition():
    result = triage_of(blood_pressure=BloodPressure.NORMAL)

    assert result.outcome == Outcome.CLEARED


NEVER_CLEARED = [{"pregnant": True}, {"spinal_cord_injury": True}, {"aortic_aneurysm": True}]


@pytest.mark.parametrize("never", NEVER_CLEARED, ids=lambda change: next(iter(change)))
def test_a_condition_no_note_clears_spoils_note_can_clear_beside_clearable_ones(never):
    result = triage_of(fragile_bones=True, disc_disorder=True, hernia=True, **never)

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.note_can_clear is False


def test_clearable_conditions_together_can_be_cleared_on_a_note():
    result = triage_of(
        fragile_bones=True,
        blood_clots_or_thinners=True,
        serious_heart_condition=True,
        blood_pressure=BloodPressure.UNCONTROLLED,
        disc_disorder=True,
        spinal_surgery=True,
        cancer=True,
    )

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.note_can_clear is True


# Doctor's note


def test_a_disc_problem_needs_a_doctors_note_not_only_a_staff_review():
    result = triage_of(disc_disorder=True)

    assert result.outcome == Outcome.DOCTORS_NOTE
    assert result.reasons == ("Disc problem",)
    assert result.note_can_clear is True


def test_spinal_surgery_long_ago_still_needs_a_doctors_note():
    result = triage_of(spinal_surgery=True, surgery_on=datetime.date(2015, 6, 1))

    assert result.outcome == Outcome.DOCTORS_NOTE
    assert result.eligible_from is None
    assert result.reasons == ("Spinal surgery (at any time)",)


def test_recent_spinal_surgery_needs_a_note_and_waits_too():
    result = triage_of(spinal_surgery=True, surgery_on=EARLIER)

    assert result.outcome == Outcome.DOCTORS_NOTE
    assert result.eligible_from == datetime.date(2027, 1, 26)
    assert result.reasons == (
        "Spinal surgery (at any time)",
        "Recent surgery (on 3 November 2026): back-walking from 26 January 2027",
    )


def test_doctors_note_reasons_come_in_questionnaire_order():
    result = triage_of(
        long_term_steroids=True,
        hernia=True,
        kidney_disease=True,
        cancer=True,
        inflammatory_arthritis=True,
        spine_or_rib_fracture=True,
        spinal_surgery=True,
        spine_condition=True,
        disc_disorder=True,
    )

    assert result.reasons == (
        "Disc problem",
        "Scoliosis, slipped vertebra or spinal stenosis",
        "Spinal surgery (at any time)",
        "Broken vertebra or rib (at any time)",
        "Inflammatory arthritis",
        "Cancer or cancer treatment",
        "Kidney disease",
        "Hernia (not repaired)",
        "Long-term steroid tablets",
    )


# Recovery waits


@pytest.mark.parametrize(
    ("field_name", "recovery", "label"),
    [
        ("unwell_on", ILLNESS_RECOVERY, "Fever or feeling unwell"),
        ("surgery_on", SURGERY_RECOVERY, "Recent surgery"),
        ("fracture_on", FRACTURE_RECOVERY, "Recent fracture"),
        ("muscle_tear_on", MUSCLE_TEAR_RECOVERY, "Recent muscle tear"),
        ("gave_birth_on", CHILDBIRTH_RECOVERY, "Recent childbirth"),
    ],
)
class TestRecoveryWait:
    def test_recent_event_waits_until_the_recovery_is_over(self, field_name, recovery, label):
        happened_on = TODAY - 2 * DAY

        result = triage_of(**{field_name: happened_on})

        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
        assert result.eligible_from == happened_on + recovery
        assert len(result.reasons) == 1
        assert result.reasons[0].startswith(f"{label} (on 18 November 2026): back-walking from ")

    def test_the_day_before_eligible_from_still_waits(self, field_name, recovery, label):
        happened_on = TODAY - recovery + DAY  # eligible from tomorrow

        result = triage_of(**{field_name: happened_on})

        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
        assert result.eligible_from == TODAY + DAY

    def test_on_eligible_from_itself_the_wait_is_over(self, field_name, recovery, label):
        happened_on = TODAY - recovery  # eligible from today

        result = triage_of(**{field_name: happened_on})

        assert result.outcome == Outcome.CLEARED
        assert result.eligible_from is None
        assert result.reasons == ()


def test_recent_surgery_reason_spells_out_both_dates():
    result = triage(answers(surgery_on=datetime.date(2026, 11, 3)), today=TODAY)

    assert result.eligible_from == datetime.date(2027, 1, 26)
    assert result.reasons == (
        "Recent surgery (on 3 November 2026): back-walking from 26 January 2027",
    )


def test_surgery_fracture_and_childbirth_wait_twelve_weeks_a_muscle_tear_six_illness_one():
    happened_on = datetime.date(2026, 11, 15)

    assert triage_of(surgery_on=happened_on).eligible_from == datetime.date(2027, 2, 7)
    assert triage_of(fracture_on=happened_on).eligible_from == datetime.date(2027, 2, 7)
    assert triage_of(gave_birth_on=happened_on).eligible_from == datetime.date(2027, 2, 7)
    assert triage_of(muscle_tear_on=happened_on).eligible_from == datetime.date(2026, 12, 27)
    assert triage_of(unwell_on=happened_on).eligible_from == datetime.date(2026, 11, 22)


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
        unwell_on=TODAY,
        surgery_on=TODAY,
        fracture_on=TODAY,
        muscle_tear_on=TODAY,
        gave_birth_on=TODAY,
        disc_disorder=True,
    )

    assert len(result.reasons) == 6
    assert not any(ISO_DATE.search(reason) for reason in result.reasons)


def test_an_injury_date_at_the_end_of_the_calendar_waits_instead_of_crashing():
    result = triage_of(surgery_on=datetime.date.max)

    assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
    assert result.eligible_from == datetime.date.max


# Needs review


def test_blank_free_text_is_no_condition():
    result = triage_of(other_conditions=" \n\t ", areas_to_avoid="  ")

    assert result.outcome == Outcome.CLEARED


FREE_TEXT_ANSWERS = [field.name for field in fields(Answers) if field.type is str]


def test_the_free_text_answers_are_the_two_boxes():
    # The test below covers every str answer; this says which they are today.
    assert FREE_TEXT_ANSWERS == ["other_conditions", "areas_to_avoid"]


@pytest.mark.parametrize("free_text", FREE_TEXT_ANSWERS)
def test_any_words_the_client_types_reach_a_reviewer_quoted(free_text):
    # A recovery wait alone would let the client book from its date: the words go first.
    result = triage_of(**{free_text: "  tender since the fall \n"}, muscle_tear_on=TODAY)

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.reasons[-1].endswith(": tender since the fall")
    assert result.eligible_from == TODAY + MUSCLE_TEAR_RECOVERY


@pytest.mark.parametrize("free_text", FREE_TEXT_ANSWERS)
def test_words_beside_a_stricter_outcome_are_still_quoted(free_text):
    result = triage_of(**{free_text: "tender since the fall"}, disc_disorder=True)

    assert result.outcome == Outcome.DOCTORS_NOTE
    assert result.reasons[-1].endswith(": tender since the fall")


@pytest.mark.parametrize("free_text", FREE_TEXT_ANSWERS)
def test_long_free_text_is_quoted_up_to_200_characters(free_text):
    result = triage_of(**{free_text: "  " + "a" * 199 + "bcdef"})

    assert result.reasons[0].endswith(": " + "a" * 199 + "b")


def test_review_reasons_come_in_questionnaire_order():
    result = triage_of(
        areas_to_avoid="neck",
        other_conditions="asthma",
        reduced_feeling=True,
        skin_condition=True,
        hypermobility=True,
        blood_pressure=BloodPressure.CONTROLLED,
        back_pain_under_care=True,
    )

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.reasons == (
        "Back pain under medical care",
        "High blood pressure (controlled)",
        "Hypermobile joints",
        "Skin condition, wound or infection on the back or legs",
        "Reduced feeling (neuropathy or diabetes)",
        "Other condition: asthma",
        "Areas to avoid: neck",
    )


# Precedence: not eligible > doctor's note > review > not eligible until > cleared


@pytest.mark.parametrize(
    ("stronger", "weaker", "outcome"),
    [
        ({"fragile_bones": True}, {"disc_disorder": True}, Outcome.NOT_ELIGIBLE),
        ({"disc_disorder": True}, {"back_pain_under_care": True}, Outcome.DOCTORS_NOTE),
        ({"hernia": True}, {"surgery_on": EARLIER}, Outcome.DOCTORS_NOTE),
        ({"hypermobility": True}, {"fracture_on": EARLIER}, Outcome.NEEDS_REVIEW),
        ({"gave_birth_on": EARLIER}, {"varicose_veins": True}, Outcome.NOT_ELIGIBLE_UNTIL),
    ],
    ids=[
        "not_eligible>doctors_note",
        "doctors_note>needs_review",
        "doctors_note>not_eligible_until",
        "needs_review>not_eligible_until",
        "not_eligible_until>cleared",
    ],
)
def test_the_stricter_outcome_wins(stronger, weaker, outcome):
    assert triage_of(**weaker).outcome != outcome
    assert triage_of(**stronger, **weaker).outcome == outcome


def test_not_eligible_beats_everything_and_still_lists_every_reason_and_the_wait():
    result = triage_of(
        pregnant=True,
        disc_disorder=True,
        surgery_on=TODAY,
        back_pain_under_care=True,
        other_conditions="asthma",
    )

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.note_can_clear is False
    assert result.eligible_from == datetime.date(2027, 2, 12)
    assert result.reasons == (
        "Pregnancy",
        "Disc problem",
        "Recent surgery (on 20 November 2026): back-walking from 12 February 2027",
        "Back pain under medical care",
        "Other condition: asthma",
    )


def test_blood_thinners_and_surgery_a_week_ago_keep_the_surgery_wait_and_list_both():
    # A doctor's note may clear the blood thinners, never the 12 weeks after the surgery.
    surgery_on = TODAY - 7 * DAY

    result = triage_of(blood_clots_or_thinners=True, surgery_on=surgery_on)

    assert result.outcome == Outcome.NOT_ELIGIBLE
    assert result.note_can_clear is True
    assert result.eligible_from == surgery_on + SURGERY_RECOVERY == datetime.date(2027, 2, 5)
    assert result.reasons == (
        "Blood clots or blood thinners",
        "Recent surgery (on 13 November 2026): back-walking from 5 February 2027",
    )


def test_a_doctors_note_outcome_keeps_the_latest_wait():
    result = triage_of(
        kidney_disease=True, muscle_tear_on=TODAY, fracture_on=datetime.date(2026, 10, 1)
    )

    assert result.outcome == Outcome.DOCTORS_NOTE
    assert result.eligible_from == datetime.date(2027, 1, 1)  # the muscle tear's
    assert len(result.reasons) == 3


def test_review_beats_waiting_and_keeps_eligible_from_and_the_wait_reason():
    result = triage_of(back_pain_under_care=True, fracture_on=datetime.date(2026, 11, 3))

    assert result.outcome == Outcome.NEEDS_REVIEW
    assert result.eligible_from == datetime.date(2027, 1, 26)
    assert result.reasons == (
        "Recent fracture (on 3 November 2026): back-walking from 26 January 2027",
        "Back pain under medical care",
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


def test_notes_come_in_questionnaire_order_after_pressure_and_areas():
    result = triage_of(
        reduced_feeling=True,
        varicose_veins=True,
        unwell_on=TODAY,
        areas_to_avoid="neck",
    )

    assert result.therapist_notes == (
        "Prefers medium pressure",
        "Avoid: neck",
        "Was unwell when screened: ask on the day; no back-walking with a fever",
        "Varicose veins: no pressure on the veins of the legs",
        "Reduced feeling: may not feel too much pressure; go lighter, check in often",
    )


def test_notes_never_repeat_the_medical_answers_the_therapist_need_not_act_on():
    result = triage_of(
        pregnant=True,
        fragile_bones=True,
        spinal_cord_injury=True,
        disc_disorder=True,
        spine_condition=True,
        spinal_surgery=True,
        spine_or_rib_fracture=True,
        back_pain_under_care=True,
        blood_clots_or_thinners=True,
        serious_heart_condition=True,
        aortic_aneurysm=True,
        inflammatory_arthritis=True,
        cancer=True,
        kidney_disease=True,
        hernia=True,
        long_term_steroids=True,
        surgery_on=TODAY,
        fracture_on=TODAY,
        muscle_tear_on=TODAY,
        gave_birth_on=TODAY,
        other_conditions="asthma",
    )

    assert result.therapist_notes == ("Prefers medium pressure",)


def test_not_eligible_answers_still_carry_the_notes():
    result = triage_of(pregnant=True, areas_to_avoid="lower back")

    assert result.therapist_notes == ("Prefers medium pressure", "Avoid: lower back")


# JSON


FULL = answers(
    pregnant=True,
    unwell_on=datetime.date(2026, 11, 20),
    blood_pressure=BloodPressure.CONTROLLED,
    disc_disorder=True,
    aortic_aneurysm=True,
    hernia=True,
    surgery_on=datetime.date(2026, 11, 3),
    muscle_tear_on=datetime.date(2024, 2, 29),
    gave_birth_on=datetime.date(2026, 9, 1),
    other_conditions="asthma",
    pressure_preference=Pressure.LIGHT,
    areas_to_avoid="left shoulder",
)

FULL_JSON = {
    "pregnant": True,
    "unwell_on": "2026-11-20",
    "fragile_bones": False,
    "spinal_cord_injury": False,
    "disc_disorder": True,
    "spine_condition": False,
    "spinal_surgery": False,
    "spine_or_rib_fracture": False,
    "back_pain_under_care": False,
    "blood_clots_or_thinners": False,
    "serious_heart_condition": False,
    "blood_pressure": "controlled",
    "aortic_aneurysm": True,
    "varicose_veins": False,
    "joint_replacement": False,
    "hypermobility": False,
    "inflammatory_arthritis": False,
    "skin_condition": False,
    "reduced_feeling": False,
    "cancer": False,
    "kidney_disease": False,
    "hernia": True,
    "long_term_steroids": False,
    "surgery_on": "2026-11-03",
    "fracture_on": None,
    "muscle_tear_on": "2024-02-29",
    "gave_birth_on": "2026-09-01",
    "other_conditions": "asthma",
    "pressure_preference": "light",
    "areas_to_avoid": "left shoulder",
}

# A screening stored under questionnaire version 1 (its 14 questions).
VERSION_1_JSON = version_1_answers(
    blood_pressure="controlled",
    disc_disorder=True,
    surgery_on="2026-11-03",
    other_conditions="asthma",
    pressure_preference="light",
    areas_to_avoid="left shoulder",
)


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
    assert result.gave_birth_on == datetime.date(2026, 9, 1)
    assert result.hernia is True


@pytest.mark.parametrize("key", ["fracture_on", "aortic_aneurysm", "gave_birth_on"])
def test_from_json_rejects_a_missing_key(key):
    data = dict(FULL_JSON)
    del data[key]

    with pytest.raises(ValueError, match=f"missing {key}$"):
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
        ("hernia", "no", "hernia must be true or false"),
        ("aortic_aneurysm", 0, "aortic_aneurysm must be true or false"),
        ("blood_pressure", "high", "blood_pressure must be one of normal, controlled"),
        ("blood_pressure", ["normal"], "blood_pressure must be one of"),
        ("pressure_preference", "LIGHT", "pressure_preference must be one of light"),
        ("surgery_on", "3 November 2026", "surgery_on must be null or a date"),
        ("surgery_on", "2026-02-30", "surgery_on must be null or a date"),
        ("surgery_on", "20261103", "surgery_on must be null or a date"),
        ("surgery_on", "2026-11-03T10:00", "surgery_on must be null or a date"),
        ("fracture_on", 20261103, "fracture_on must be null or a date"),
        ("gave_birth_on", True, "gave_birth_on must be null or a date"),
        ("unwell_on", False, "unwell_on must be null or a date"),
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


# Older versions


def test_from_json_refuses_version_1_answers():
    with pytest.raises(ValueError, match="missing unwell_on, spine_condition"):
        Answers.from_json(VERSION_1_JSON)


def test_version_1_answers_are_read_as_asked_and_only_those():
    result = answers_as_asked(VERSION_1_JSON, version=1)

    assert list(result) == list(VERSION_1_JSON)
    assert result["blood_pressure"] is BloodPressure.CONTROLLED
    assert result["surgery_on"] == datetime.date(2026, 11, 3)
    assert result["other_conditions"] == "asthma"


def test_version_1_asked_a_part_of_version_2():
    assert set(ANSWER_NAMES[1]) < set(ANSWER_NAMES[2])


def test_version_2_answers_are_read_as_asked_in_questionnaire_order():
    result = answers_as_asked(FULL_JSON, version=2)

    assert result == {field.name: getattr(FULL, field.name) for field in fields(Answers)}
    assert list(result) == list(ANSWER_NAMES[2])


def test_version_1_answers_with_a_version_2_question_are_refused():
    with pytest.raises(ValueError, match="unknown keys: hernia"):
        answers_as_asked({**VERSION_1_JSON, "hernia": False}, version=1)


def test_version_1_answers_are_as_strict_as_the_current_ones():
    with pytest.raises(ValueError, match="disc_disorder must be true or false"):
        answers_as_asked({**VERSION_1_JSON, "disc_disorder": "yes"}, version=1)


@pytest.mark.parametrize("version", [0, 3, None, "1"])
def test_an_unknown_version_is_refused(version):
    with pytest.raises(ValueError, match="Unknown questionnaire version"):
        answers_as_asked(FULL_JSON, version=version)


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

NOT_ELIGIBLE = (
    "pregnant",
    "fragile_bones",
    "spinal_cord_injury",
    "blood_clots_or_thinners",
    "serious_heart_condition",
    "aortic_aneurysm",
)
NEVER_ON_A_NOTE = ("pregnant", "spinal_cord_injury", "aortic_aneurysm")
DOCTORS_NOTE = (
    "disc_disorder",
    "spine_condition",
    "spinal_surgery",
    "spine_or_rib_fracture",
    "inflammatory_arthritis",
    "cancer",
    "kidney_disease",
    "hernia",
    "long_term_steroids",
)
REVIEW = ("back_pain_under_care", "hypermobility", "skin_condition", "reduced_feeling")
RECOVERY = {
    "unwell_on": ILLNESS_RECOVERY,
    "surgery_on": SURGERY_RECOVERY,
    "fracture_on": FRACTURE_RECOVERY,
    "muscle_tear_on": MUSCLE_TEAR_RECOVERY,
    "gave_birth_on": CHILDBIRTH_RECOVERY,
}

optional_dates = st.none() | st.dates()
STRATEGY_OF_TYPE = {
    bool: st.booleans(),
    str: st.text(max_size=300),
    datetime.date | None: optional_dates,
    BloodPressure: st.sampled_from(BloodPressure),
    Pressure: st.sampled_from(Pressure),
}
answers_strategy = st.builds(
    Answers, **{field.name: STRATEGY_OF_TYPE[field.type] for field in fields(Answers)}
)


def waiting_until(answers: Answers, today: datetime.date) -> list[int]:
    """Ordinals of the first allowed days still ahead (ordinals: no date overflow)."""
    ends = [
        day.toordinal() + wait.days
        for name, wait in RECOVERY.items()
        if (day := getattr(answers, name)) is not None
    ]
    return [end for end in ends if end > today.toordinal()]


@given(answers_strategy, st.dates())
def test_triage_outcome_follows_the_conditions(answers, today):
    result = triage(answers, today=today)

    def count(names):
        return sum(getattr(answers, name) for name in names)

    not_eligible = count(NOT_ELIGIBLE) + (answers.blood_pressure == BloodPressure.UNCONTROLLED)
    doctors_note = count(DOCTORS_NOTE)
    waits = waiting_until(answers, today)
    review = (
        count(REVIEW)
        + (answers.blood_pressure == BloodPressure.CONTROLLED)
        + (answers.other_conditions.strip() != "")
        + (answers.areas_to_avoid.strip() != "")
    )

    if not_eligible:
        assert result.outcome == Outcome.NOT_ELIGIBLE
    elif doctors_note:
        assert result.outcome == Outcome.DOCTORS_NOTE
    elif review:
        assert result.outcome == Outcome.NEEDS_REVIEW
    elif waits:
        assert result.outcome == Outcome.NOT_ELIGIBLE_UNTIL
    else:
        assert result.outcome == Outcome.CLEARED

    # Whatever the outcome: every reason, and the latest wait.
    assert len(result.reasons) == not_eligible + doctors_note + len(waits) + review
    if waits:
        assert result.eligible_from is not None
        assert result.eligible_from > today
        assert result.eligible_from.toordinal() == min(max(waits), datetime.date.max.toordinal())
    else:
        assert result.eligible_from is None
    assert result.note_can_clear is not any(getattr(answers, n) for n in NEVER_ON_A_NOTE)

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
