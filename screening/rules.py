"""The health screening triage: answers in, outcome out. Pure: no database, no clock.

Back-walking puts a person's whole weight on a client's spine, so the rules err
on the side of caution: anything that can make it dangerous is "not eligible"
(staff can clear some of it on a doctor's note, never pregnancy, a spinal cord
injury or an aortic aneurysm), conditions a doctor can vouch for need their note,
recent injuries wait out a recovery period, and anything a rule cannot judge
(including every word the client types) goes to a human. docs/SCREENING.md is the
table of every condition, with the reasoning.
"""

import calendar
import dataclasses
import datetime
import enum
from collections.abc import Callable
from dataclasses import dataclass, fields


class Outcome(enum.StrEnum):
    CLEARED = "cleared"
    NEEDS_REVIEW = "needs_review"
    NOT_ELIGIBLE = "not_eligible"
    NOT_ELIGIBLE_UNTIL = "not_eligible_until"
    # No online booking until staff clear the condition on a doctor's note.
    DOCTORS_NOTE = "doctors_note"


class BloodPressure(enum.StrEnum):
    NORMAL = "normal"  # no high blood pressure
    CONTROLLED = "controlled"  # high, kept under control (medication, monitored)
    UNCONTROLLED = "uncontrolled"


class Pressure(enum.StrEnum):
    LIGHT = "light"
    MEDIUM = "medium"
    FIRM = "firm"


@dataclass(frozen=True)
class Answers:
    """One submitted questionnaire (version QUESTIONNAIRE_VERSION), in the order the form
    asks. "Ever" questions have no date; recent events carry the date the client gave."""

    pregnant: bool
    # The day the client said they had a fever or felt unwell (the day they answered).
    unwell_on: datetime.date | None
    fragile_bones: bool  # osteoporosis, osteopenia or fragile bones
    spinal_cord_injury: bool
    disc_disorder: bool  # slipped, bulging or herniated disc, or another disc problem
    spine_condition: bool  # scoliosis, spondylolisthesis (slipped vertebra), spinal stenosis
    spinal_surgery: bool  # ever: an operation on the spine, a fusion, rods or screws
    spine_or_rib_fracture: bool  # ever: a broken vertebra or rib
    back_pain_under_care: bool  # back pain being treated by a doctor or physiotherapist
    blood_clots_or_thinners: bool  # a blood clot (e.g. DVT) or taking blood thinners
    serious_heart_condition: bool
    blood_pressure: BloodPressure
    aortic_aneurysm: bool
    varicose_veins: bool
    joint_replacement: bool  # e.g. a hip or knee replacement
    hypermobility: bool  # hypermobile joints, Ehlers-Danlos syndrome
    inflammatory_arthritis: bool  # rheumatoid arthritis, ankylosing spondylitis, ...
    skin_condition: bool  # a skin condition, open wound or infection on the back or legs
    reduced_feeling: bool  # reduced feeling in the back or legs (neuropathy, diabetes)
    cancer: bool  # cancer, or treatment for cancer in the last year
    kidney_disease: bool
    hernia: bool  # a hernia that has not been repaired
    long_term_steroids: bool  # steroid tablets for 3 months or more in the last year
    surgery_on: datetime.date | None  # date of surgery, if any in the last 6 months
    fracture_on: datetime.date | None  # date of a broken bone, if any in the last 6 months
    muscle_tear_on: datetime.date | None  # date of a torn muscle, if any in the last 6 months
    gave_birth_on: datetime.date | None  # date of giving birth, if in the last 6 months
    other_conditions: str  # anything else the therapist should know (free text)
    pressure_preference: Pressure
    areas_to_avoid: str  # free text, e.g. "left shoulder"

    def to_json(self) -> dict:
        """Plain JSON values (dates as ISO strings, enums as their values)."""
        return {field.name: _to_plain(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> "Answers":
        """The answers `to_json` stored; ValueError when a key is missing, unknown or malformed.

        Only the current version: older answers lack questions, see `answers_as_asked`.
        Error messages name the key and the expected type, never the value: the values are
        health data, and these messages can end up in logs and error reports.
        """
        return cls(**_parse_answers(data, ANSWER_NAMES[QUESTIONNAIRE_VERSION]))


def nothing_to_declare(**changes) -> Answers:
    """The answers of someone with no condition at all, medium pressure, nothing to avoid;
    `changes` sets individual answers (demo data and tests start from here)."""
    answers = Answers(
        pregnant=False,
        unwell_on=None,
        fragile_bones=False,
        spinal_cord_injury=False,
        disc_disorder=False,
        spine_condition=False,
        spinal_surgery=False,
        spine_or_rib_fracture=False,
        back_pain_under_care=False,
        blood_clots_or_thinners=False,
        serious_heart_condition=False,
        blood_pressure=BloodPressure.NORMAL,
        aortic_aneurysm=False,
        varicose_veins=False,
        joint_replacement=False,
        hypermobility=False,
        inflammatory_arthritis=False,
        skin_condition=False,
        reduced_feeling=False,
        cancer=False,
        kidney_disease=False,
        hernia=False,
        long_term_steroids=False,
        surgery_on=None,
        fracture_on=None,
        muscle_tear_on=None,
        gave_birth_on=None,
        other_conditions="",
        pressure_preference=Pressure.MEDIUM,
        areas_to_avoid="",
    )
    return dataclasses.replace(answers, **changes)


@dataclass(frozen=True)
class Triage:
    outcome: Outcome
    # First day back-walking is allowed once every recovery wait still running is
    # over, whatever the outcome (a doctor's note never shortens a wait), or None.
    eligible_from: datetime.date | None
    # Why: every reason of every kind, whatever the outcome; shown to staff, and to the
    # client when not eligible.
    reasons: tuple[str, ...]
    therapist_notes: tuple[str, ...]  # what the therapist should know (never the raw answers)
    # False when a condition no doctor's note can clear is present.
    note_can_clear: bool


@dataclass(frozen=True)
class Condition:
    """What one answer does: the outcome it asks for, and why (a row of docs/SCREENING.md).

    CLEARED means it only tells the therapist something; it then gives no reason.
    """

    answer: str  # an Answers field
    outcome: Outcome
    reason: str = ""
    note_can_clear: bool = True
    therapist_note: str = ""
    value: object = True  # the answer that makes it apply

    def applies(self, answers: Answers) -> bool:
        return getattr(answers, self.answer) == self.value


@dataclass(frozen=True)
class Wait:
    """A recent event whose recovery runs from the date the client gave."""

    answer: str  # a date field of Answers
    label: str
    recovery: datetime.timedelta


QUESTIONNAIRE_VERSION = 2
SURGERY_RECOVERY = datetime.timedelta(weeks=12)
FRACTURE_RECOVERY = datetime.timedelta(weeks=12)
MUSCLE_TEAR_RECOVERY = datetime.timedelta(weeks=6)
CHILDBIRTH_RECOVERY = datetime.timedelta(weeks=12)
ILLNESS_RECOVERY = datetime.timedelta(days=7)
FREE_TEXT_LIMIT = 200  # characters of a free-text answer quoted in a reason or a note

# Every yes/no answer that matters, in questionnaire order (the order of the reasons).
CONDITIONS: tuple[Condition, ...] = (
    Condition("pregnant", Outcome.NOT_ELIGIBLE, "Pregnancy", note_can_clear=False),
    Condition("fragile_bones", Outcome.NOT_ELIGIBLE, "Osteoporosis or fragile bones"),
    Condition(
        "spinal_cord_injury", Outcome.NOT_ELIGIBLE, "Spinal cord injury", note_can_clear=False
    ),
    Condition("disc_disorder", Outcome.DOCTORS_NOTE, "Disc problem"),
    Condition(
        "spine_condition", Outcome.DOCTORS_NOTE, "Scoliosis, slipped vertebra or spinal stenosis"
    ),
    Condition("spinal_surgery", Outcome.DOCTORS_NOTE, "Spinal surgery (at any time)"),
    Condition(
        "spine_or_rib_fracture", Outcome.DOCTORS_NOTE, "Broken vertebra or rib (at any time)"
    ),
    Condition("back_pain_under_care", Outcome.NEEDS_REVIEW, "Back pain under medical care"),
    Condition("blood_clots_or_thinners", Outcome.NOT_ELIGIBLE, "Blood clots or blood thinners"),
    Condition("serious_heart_condition", Outcome.NOT_ELIGIBLE, "Serious heart condition"),
    Condition(
        "blood_pressure",
        Outcome.NOT_ELIGIBLE,
        "Uncontrolled high blood pressure",
        value=BloodPressure.UNCONTROLLED,
    ),
    Condition(
        "blood_pressure",
        Outcome.NEEDS_REVIEW,
        "High blood pressure (controlled)",
        therapist_note="Controlled high blood pressure: check comfort and breathing",
        value=BloodPressure.CONTROLLED,
    ),
    Condition("aortic_aneurysm", Outcome.NOT_ELIGIBLE, "Aortic aneurysm", note_can_clear=False),
    Condition(
        "varicose_veins",
        Outcome.CLEARED,
        therapist_note="Varicose veins: no pressure on the veins of the legs",
    ),
    Condition(
        "joint_replacement",
        Outcome.CLEARED,
        therapist_note="Joint replacement: ask which joint; no pressure or stretch on it",
    ),
    Condition(
        "hypermobility",
        Outcome.NEEDS_REVIEW,
        "Hypermobile joints",
        therapist_note="Hypermobile joints: no stretching, keep the joints supported",
    ),
    Condition("inflammatory_arthritis", Outcome.DOCTORS_NOTE, "Inflammatory arthritis"),
    Condition(
        "skin_condition",
        Outcome.NEEDS_REVIEW,
        "Skin condition, wound or infection on the back or legs",
        therapist_note="Skin condition, wound or infection on the back or legs: "
        "look first, never step on it",
    ),
    Condition(
        "reduced_feeling",
        Outcome.NEEDS_REVIEW,
        "Reduced feeling (neuropathy or diabetes)",
        therapist_note="Reduced feeling: may not feel too much pressure; go lighter, "
        "check in often",
    ),
    Condition("cancer", Outcome.DOCTORS_NOTE, "Cancer or cancer treatment"),
    Condition("kidney_disease", Outcome.DOCTORS_NOTE, "Kidney disease"),
    Condition("hernia", Outcome.DOCTORS_NOTE, "Hernia (not repaired)"),
    Condition("long_term_steroids", Outcome.DOCTORS_NOTE, "Long-term steroid tablets"),
)

# Recent events, in questionnaire order.
WAITS: tuple[Wait, ...] = (
    Wait("unwell_on", "Fever or feeling unwell", ILLNESS_RECOVERY),
    Wait("surgery_on", "Recent surgery", SURGERY_RECOVERY),
    Wait("fracture_on", "Recent fracture", FRACTURE_RECOVERY),
    Wait("muscle_tear_on", "Recent muscle tear", MUSCLE_TEAR_RECOVERY),
    Wait("gave_birth_on", "Recent childbirth", CHILDBIRTH_RECOVERY),
)

# Every free-text answer, with the words its review reason starts with: whatever a
# client types reaches a reviewer, since no rule can read it.
FREE_TEXT: tuple[tuple[str, str], ...] = (
    ("other_conditions", "Other condition"),
    ("areas_to_avoid", "Areas to avoid"),
)

UNWELL_NOTE = "Was unwell when screened: ask on the day; no back-walking with a fever"


def triage(answers: Answers, *, today: datetime.date) -> Triage:
    """Sort one questionnaire into an outcome, with every reason and the therapist's notes.

    Precedence: not eligible > doctor's note > review > not eligible until > cleared.
    The reasons list every kind whatever the outcome (not eligible, doctor's note,
    recovery waits with their dates, review), and `eligible_from` is set whenever a wait
    is still running: clearing a condition on a doctor's note leaves the wait in force.
    """
    present = [condition for condition in CONDITIONS if condition.applies(answers)]

    def reasons_for(outcome: Outcome) -> tuple[str, ...]:
        return tuple(condition.reason for condition in present if condition.outcome == outcome)

    refusals = reasons_for(Outcome.NOT_ELIGIBLE)
    notes_needed = reasons_for(Outcome.DOCTORS_NOTE)
    waits = _recovery_waits(answers, today)
    reviews = reasons_for(Outcome.NEEDS_REVIEW) + _free_text_reasons(answers)
    if refusals:
        outcome = Outcome.NOT_ELIGIBLE
    elif notes_needed:
        outcome = Outcome.DOCTORS_NOTE
    elif reviews:
        outcome = Outcome.NEEDS_REVIEW
    elif waits:
        outcome = Outcome.NOT_ELIGIBLE_UNTIL
    else:
        outcome = Outcome.CLEARED
    return Triage(
        outcome=outcome,
        eligible_from=max((day for day, _ in waits), default=None),
        reasons=refusals + notes_needed + tuple(reason for _, reason in waits) + reviews,
        therapist_notes=_therapist_notes(answers, present),
        note_can_clear=all(condition.note_can_clear for condition in present),
    )


def valid_until(submitted_on: datetime.date, months: int) -> datetime.date:
    """Last day a screening submitted on `submitted_on` is valid (same day `months` later,
    clamped to the month's end: 31 August + 6 months -> 28/29 February)."""
    if months < 1:
        raise ValueError(f"A screening is valid for at least 1 month, not {months}")
    month_index = submitted_on.month - 1 + months
    year = submitted_on.year + month_index // 12
    month = month_index % 12 + 1
    if year > datetime.MAXYEAR:
        raise ValueError(f"{months} months after {submitted_on.isoformat()} is past year 9999")
    last_day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(submitted_on.day, last_day))


def _recovery_waits(answers: Answers, today: datetime.date) -> list[tuple[datetime.date, str]]:
    """(first allowed day, reason) for each recent event whose recovery is not over today."""
    waits = []
    for wait in WAITS:
        happened_on = getattr(answers, wait.answer)
        if happened_on is None:
            continue
        eligible_from = _plus(happened_on, wait.recovery)
        if eligible_from > today:
            reason = (
                f"{wait.label} (on {_long_date(happened_on)}): "
                f"back-walking from {_long_date(eligible_from)}"
            )
            waits.append((eligible_from, reason))
    return waits


def _free_text_reasons(answers: Answers) -> tuple[str, ...]:
    quoted = ((label, _quote(getattr(answers, answer))) for answer, label in FREE_TEXT)
    return tuple(f"{label}: {text}" for label, text in quoted if text)


_PRESSURE_NOTES = {
    Pressure.LIGHT: "Prefers light pressure",
    Pressure.MEDIUM: "Prefers medium pressure",
    Pressure.FIRM: "Prefers firm pressure",
}


def _therapist_notes(answers: Answers, present: list[Condition]) -> tuple[str, ...]:
    notes = [_PRESSURE_NOTES[answers.pressure_preference]]
    areas = _quote(answers.areas_to_avoid)
    if areas:
        notes.append(f"Avoid: {areas}")
    if answers.unwell_on is not None:
        notes.append(UNWELL_NOTE)
    notes.extend(condition.therapist_note for condition in present if condition.therapist_note)
    return tuple(notes)


def _quote(text: str) -> str:
    return text.strip()[:FREE_TEXT_LIMIT].rstrip()


def _plus(day: datetime.date, wait: datetime.timedelta) -> datetime.date:
    # A mistyped year (9999) must give a far-off date, not crash the submission.
    try:
        return day + wait
    except OverflowError:
        return datetime.date.max


_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _long_date(day: datetime.date) -> str:
    # Spelled out by hand: strftime("%B") follows the process locale.
    return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


# JSON <-> Answers


def _to_plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _parse_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"Answers JSON: {key} must be true or false, not {type(value).__name__}")
    return value


def _parse_text(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"Answers JSON: {key} must be a string, not {type(value).__name__}")
    return value


def _parse_date(key: str, value: object) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            day = None
        # Only the form to_json writes (fromisoformat also takes "20261103", "2026-W45-2").
        if day is not None and day.isoformat() == value:
            return day
    raise ValueError(f"Answers JSON: {key} must be null or a date as YYYY-MM-DD")


def _choice_parser(choices: type[enum.StrEnum]) -> Callable[[str, object], enum.StrEnum]:
    values = [member.value for member in choices]

    def parse(key: str, value: object) -> enum.StrEnum:
        if isinstance(value, str) and value in values:
            return choices(value)
        raise ValueError(f"Answers JSON: {key} must be one of {', '.join(values)}")

    return parse


_PARSER_OF_TYPE: dict[object, Callable[[str, object], object]] = {
    bool: _parse_bool,
    str: _parse_text,
    datetime.date | None: _parse_date,
    BloodPressure: _choice_parser(BloodPressure),
    Pressure: _choice_parser(Pressure),
}
# One parser per Answers field, in the dataclass's order.
_PARSERS = {field.name: _PARSER_OF_TYPE[field.type] for field in fields(Answers)}

# The answers each questionnaire version asked, in its order. Version 2 kept every
# version 1 question and its wording, and added the rest.
ANSWER_NAMES: dict[int, tuple[str, ...]] = {
    1: (
        "pregnant",
        "fragile_bones",
        "spinal_cord_injury",
        "blood_clots_or_thinners",
        "serious_heart_condition",
        "blood_pressure",
        "disc_disorder",
        "back_pain_under_care",
        "surgery_on",
        "fracture_on",
        "muscle_tear_on",
        "other_conditions",
        "pressure_preference",
        "areas_to_avoid",
    ),
    2: tuple(_PARSERS),
}


def answers_as_asked(data: object, *, version: int) -> dict[str, object]:
    """The stored answers of a screening of questionnaire `version`, parsed and keyed by
    Answers field, in the order that version asked: only the questions it asked (a
    version 1 screening never answered the version 2 questions). ValueError like
    `Answers.from_json`, or for an unknown version."""
    if version not in ANSWER_NAMES:
        raise ValueError(f"Unknown questionnaire version {version!r}")
    return _parse_answers(data, ANSWER_NAMES[version])


def _parse_answers(data: object, names: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValueError(f"Answers JSON must be an object, not {type(data).__name__}")
    missing = [name for name in names if name not in data]
    if missing:
        raise ValueError(f"Answers JSON is missing {', '.join(missing)}")
    unknown = sorted(str(key) for key in data.keys() - set(names))
    if unknown:
        raise ValueError(f"Answers JSON has unknown keys: {', '.join(unknown)}")
    return {name: _PARSERS[name](name, data[name]) for name in names}
