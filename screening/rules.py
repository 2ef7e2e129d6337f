"""The health screening triage: answers in, outcome out. Pure: no database, no clock.

Back-walking puts a person's whole weight on a client's spine, so the rules err
on the side of caution: anything that can make it dangerous is "not eligible"
(staff can still clear it on a doctor's note), recent injuries wait out a
recovery period, and anything a rule cannot judge goes to a human.
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
    """One submitted questionnaire (version QUESTIONNAIRE_VERSION)."""

    pregnant: bool
    fragile_bones: bool  # osteoporosis, osteopenia or fragile bones
    spinal_cord_injury: bool
    blood_clots_or_thinners: bool  # a blood clot (e.g. DVT) or taking blood thinners
    serious_heart_condition: bool
    blood_pressure: BloodPressure
    disc_disorder: bool  # slipped, bulging or herniated disc, or another disc problem
    back_pain_under_care: bool  # back pain being treated by a doctor or physiotherapist
    surgery_on: datetime.date | None  # date of surgery, if any in the last 6 months
    fracture_on: datetime.date | None  # date of a broken bone, if any in the last 6 months
    muscle_tear_on: datetime.date | None  # date of a torn muscle, if any in the last 6 months
    other_conditions: str  # anything else the therapist should know (free text)
    pressure_preference: Pressure
    areas_to_avoid: str  # free text, e.g. "left shoulder"

    def to_json(self) -> dict:
        """Plain JSON values (dates as ISO strings, enums as their values)."""
        return {field.name: _to_plain(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> "Answers":
        """The answers `to_json` stored; ValueError when a key is missing, unknown or malformed.

        Error messages name the key and the expected type, never the value: the values are
        health data, and these messages can end up in logs and error reports.
        """
        if not isinstance(data, dict):
            raise ValueError(f"Answers JSON must be an object, not {type(data).__name__}")
        missing = sorted(_PARSERS.keys() - data.keys())
        if missing:
            raise ValueError(f"Answers JSON is missing {', '.join(missing)}")
        unknown = sorted(str(key) for key in data.keys() - _PARSERS.keys())
        if unknown:
            raise ValueError(f"Answers JSON has unknown keys: {', '.join(unknown)}")
        return cls(**{key: parse(key, data[key]) for key, parse in _PARSERS.items()})


def nothing_to_declare(**changes) -> Answers:
    """The answers of someone with no condition at all, medium pressure, nothing to avoid;
    `changes` sets individual answers (demo data and tests start from here)."""
    answers = Answers(
        pregnant=False,
        fragile_bones=False,
        spinal_cord_injury=False,
        blood_clots_or_thinners=False,
        serious_heart_condition=False,
        blood_pressure=BloodPressure.NORMAL,
        disc_disorder=False,
        back_pain_under_care=False,
        surgery_on=None,
        fracture_on=None,
        muscle_tear_on=None,
        other_conditions="",
        pressure_preference=Pressure.MEDIUM,
        areas_to_avoid="",
    )
    return dataclasses.replace(answers, **changes)


@dataclass(frozen=True)
class Triage:
    outcome: Outcome
    # First day back-walking is allowed again after a recent injury, or None.
    eligible_from: datetime.date | None
    reasons: tuple[str, ...]  # why: shown to staff, and to the client when not eligible
    therapist_notes: tuple[str, ...]  # what the therapist should know (never the raw answers)


QUESTIONNAIRE_VERSION = 1
SURGERY_RECOVERY = datetime.timedelta(weeks=12)
FRACTURE_RECOVERY = datetime.timedelta(weeks=12)
MUSCLE_TEAR_RECOVERY = datetime.timedelta(weeks=6)
FREE_TEXT_LIMIT = 200  # characters of a free-text answer quoted in a reason or a note


def triage(answers: Answers, *, today: datetime.date) -> Triage:
    """Sort one questionnaire into an outcome, with the reasons and the therapist's notes.

    The reasons explain the outcome: a not-eligible outcome lists only what makes the
    client not eligible (a "back-walking from <date>" line would promise a date that
    does not exist), a review lists what needs review and any recovery wait.
    """
    notes = _therapist_notes(answers)
    refusals = _not_eligible_reasons(answers)
    if refusals:
        return Triage(Outcome.NOT_ELIGIBLE, None, refusals, notes)
    waits = _recovery_waits(answers, today)
    eligible_from = max((day for day, _ in waits), default=None)
    wait_reasons = tuple(reason for _, reason in waits)
    reviews = _review_reasons(answers)
    if reviews:
        return Triage(Outcome.NEEDS_REVIEW, eligible_from, wait_reasons + reviews, notes)
    if waits:
        return Triage(Outcome.NOT_ELIGIBLE_UNTIL, eligible_from, wait_reasons, notes)
    return Triage(Outcome.CLEARED, None, (), notes)


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


def _not_eligible_reasons(answers: Answers) -> tuple[str, ...]:
    conditions = (
        (answers.pregnant, "Pregnancy"),
        (answers.fragile_bones, "Osteoporosis or fragile bones"),
        (answers.spinal_cord_injury, "Spinal cord injury"),
        (answers.blood_clots_or_thinners, "Blood clots or blood thinners"),
        (answers.serious_heart_condition, "Serious heart condition"),
        (
            answers.blood_pressure == BloodPressure.UNCONTROLLED,
            "Uncontrolled high blood pressure",
        ),
    )
    return tuple(reason for applies, reason in conditions if applies)


def _recovery_waits(answers: Answers, today: datetime.date) -> list[tuple[datetime.date, str]]:
    """(first allowed day, reason) for each recent injury whose recovery is not over today."""
    injuries = (
        (answers.surgery_on, SURGERY_RECOVERY, "Recent surgery"),
        (answers.fracture_on, FRACTURE_RECOVERY, "Recent fracture"),
        (answers.muscle_tear_on, MUSCLE_TEAR_RECOVERY, "Recent muscle tear"),
    )
    waits = []
    for injured_on, recovery, label in injuries:
        if injured_on is None:
            continue
        eligible_from = _plus(injured_on, recovery)
        if eligible_from > today:
            reason = (
                f"{label} (on {_long_date(injured_on)}): "
                f"back-walking from {_long_date(eligible_from)}"
            )
            waits.append((eligible_from, reason))
    return waits


def _review_reasons(answers: Answers) -> tuple[str, ...]:
    reasons = []
    if answers.disc_disorder:
        reasons.append("Disc problem")
    if answers.back_pain_under_care:
        reasons.append("Back pain under medical care")
    if answers.blood_pressure == BloodPressure.CONTROLLED:
        reasons.append("High blood pressure (controlled)")
    other = _quote(answers.other_conditions)
    if other:
        reasons.append(f"Other condition: {other}")
    return tuple(reasons)


_PRESSURE_NOTES = {
    Pressure.LIGHT: "Prefers light pressure",
    Pressure.MEDIUM: "Prefers medium pressure",
    Pressure.FIRM: "Prefers firm pressure",
}


def _therapist_notes(answers: Answers) -> tuple[str, ...]:
    notes = [_PRESSURE_NOTES[answers.pressure_preference]]
    areas = _quote(answers.areas_to_avoid)
    if areas:
        notes.append(f"Avoid: {areas}")
    if answers.blood_pressure == BloodPressure.CONTROLLED:
        notes.append("Controlled high blood pressure: check comfort and breathing")
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


# One parser per Answers field, in the dataclass's order.
_PARSERS: dict[str, Callable[[str, object], object]] = {
    "pregnant": _parse_bool,
    "fragile_bones": _parse_bool,
    "spinal_cord_injury": _parse_bool,
    "blood_clots_or_thinners": _parse_bool,
    "serious_heart_condition": _parse_bool,
    "blood_pressure": _choice_parser(BloodPressure),
    "disc_disorder": _parse_bool,
    "back_pain_under_care": _parse_bool,
    "surgery_on": _parse_date,
    "fracture_on": _parse_date,
    "muscle_tear_on": _parse_date,
    "other_conditions": _parse_text,
    "pressure_preference": _choice_parser(Pressure),
    "areas_to_avoid": _parse_text,
}
