"""May this client have back-walking on this day? Reads the client's current screening.

The booking services ask this on every path that books or moves a
back-walking appointment; pages ask it only to explain things early.
"""

import datetime
import enum
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch

from clients.age import first_adult_day
from clients.models import Client
from spa_booking.written_once import Lookup

from . import rules
from .models import HealthScreening


class Why(enum.StrEnum):
    """Why the screening stands in the way, so staff can be told in their own words (the
    message is the client's). Names no health detail: only which rule applies."""

    NO_SCREENING = "no_screening"
    SCREENING_EXPIRED = "screening_expired"
    SCREENING_OUTDATED = "screening_outdated"  # an older questionnaire
    DECLINED = "screening_declined"
    NOT_ELIGIBLE = "not_eligible"
    NOT_ELIGIBLE_NOTE_CAN_CLEAR = "not_eligible_note_can_clear"
    DOCTORS_NOTE = "doctors_note"
    RECOVERY_WAIT = "recovery_wait"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # True: allowed, but held as pending_review until staff decide.
    hold: bool = False
    message: str = ""
    screening: HealthScreening | None = None
    # Whether filling in a (new) screening is the way forward.
    new_screening_helps: bool = False
    # Why it is not allowed ("" when it is).
    why: str = ""


def latest_screenings_first(lookup: str) -> Prefetch:
    """Prefetch a client's current screening (as `screenings_newest_first`, a list of at
    most one: the newest), whatever the booking was made on. Only that one: a regular's
    years of screenings would each be read and decrypted for nothing."""
    return Prefetch(
        lookup,
        queryset=HealthScreening.objects.latest_first()[:1],
        to_attr="screenings_newest_first",
    )


def therapist_sees_health_summary(
    *, is_back_walking: bool, is_open: bool, day: datetime.date, today: datetime.date
) -> bool:
    """The client's therapist sees their screening summary only for back-walking that is
    still to happen (today included): health data is shared for the session, not kept
    in view afterwards."""
    return is_back_walking and is_open and day >= today


def current_screening(client: Client, *, health_data: bool = True) -> HealthScreening | None:
    """The client's latest submitted screening: the one that counts. `health_data=False`
    leaves its encrypted columns (answers, notes, signature) unread and undecrypted: the
    gate judges by the outcome, the review and the dates alone."""
    if not health_data:
        return _CURRENT_WITHOUT_HEALTH_DATA.first(client.pk)
    return HealthScreening.objects.filter(client=client).latest_first().first()


# The gate's read, on every back-walking booking (spa_booking/written_once.py).
_CURRENT_WITHOUT_HEALTH_DATA = Lookup(
    lambda client_id: (
        HealthScreening.objects.filter(client_id=client_id).without_health_data().latest_first()
    ),
    stand_in=-(2**62),
)


def back_walking_verdict(*, client: Client, day: datetime.date) -> Verdict:
    """The verdict for a new booking (or a move): the current questionnaire is asked.

    A screening on an older questionnaire still counts for what was booked on it
    (judging again uses screening_verdict alone), but not for new bookings.
    """
    screening = current_screening(client, health_data=False)
    verdict = screening_verdict(screening=screening, day=day)
    outdated = (
        screening is not None and screening.questionnaire_version < rules.QUESTIONNAIRE_VERSION
    )
    if outdated and (verdict.allowed or verdict.new_screening_helps):
        return Verdict(
            allowed=False,
            screening=screening,
            message="Our health questionnaire has new questions since your last screening. "
            "Please fill it in again before booking back-walking; it takes a few minutes.",
            new_screening_helps=True,
            why=Why.SCREENING_OUTDATED,
        )
    return verdict


def screening_verdict(*, screening: HealthScreening | None, day: datetime.date) -> Verdict:
    """What `screening` (None: the client has none) means for back-walking on `day`."""
    phone = settings.SPA_PHONE
    if screening is None:
        return Verdict(
            allowed=False,
            message="Before your first back-walking booking, please fill in our health "
            "screening. It takes a few minutes.",
            new_screening_helps=True,
            why=Why.NO_SCREENING,
        )
    if day > screening.valid_until:
        return Verdict(
            allowed=False,
            screening=screening,
            message=f"Your health screening is valid until {screening.valid_until:%-d %B %Y}, "
            "before this appointment. Please fill in a new one.",
            new_screening_helps=True,
            why=Why.SCREENING_EXPIRED,
        )
    review = HealthScreening.Review
    outcome = HealthScreening.Outcome
    if screening.review == review.DECLINED:
        return Verdict(
            allowed=False,
            screening=screening,
            message="After reviewing your health screening, our staff could not clear you for "
            f"back-walking. Please call us on {phone} to talk about it or to book another "
            "treatment.",
            why=Why.DECLINED,
        )
    if screening.review != review.APPROVED and screening.outcome == outcome.NOT_ELIGIBLE:
        if not screening.note_can_clear:
            message = (
                "Your health screening shows that back-walking is not safe for you, so we "
                "cannot offer it. You are welcome to book our other treatments."
            )
        else:
            message = (
                "Your health screening shows that back-walking is not safe for you, so we "
                f"cannot book it online. If your doctor says it is safe, call us on {phone}: "
                "we can clear it with a note from them."
            )
        why = Why.NOT_ELIGIBLE_NOTE_CAN_CLEAR if screening.note_can_clear else Why.NOT_ELIGIBLE
        return Verdict(allowed=False, screening=screening, message=message, why=why)
    if screening.review != review.APPROVED and screening.outcome == outcome.DOCTORS_NOTE:
        return Verdict(
            allowed=False,
            screening=screening,
            message="Your health screening shows a condition for which back-walking needs a "
            f"note from your doctor saying it is safe. Please call us on {phone}: once our "
            "staff have the note, you can book.",
            why=Why.DOCTORS_NOTE,
        )
    # A doctor's note clears the condition it is about, never a recovery wait.
    if screening.eligible_from and day < screening.eligible_from:
        return Verdict(
            allowed=False,
            screening=screening,
            message="After your recent injury, surgery or childbirth, back-walking has to wait "
            f"until {screening.eligible_from:%A %-d %B %Y}. Please pick a day from then on.",
            why=Why.RECOVERY_WAIT,
        )
    if screening.review == review.PENDING:
        return Verdict(
            allowed=True,
            hold=True,
            screening=screening,
            message="Our staff review your health screening before back-walking. We hold "
            "this time for you and email you as soon as it is decided.",
        )
    return Verdict(allowed=True, screening=screening)


@dataclass(frozen=True)
class Outlook:
    """Where a client stands for back-walking before they pick a time."""

    bookable: bool  # may book some day online now
    # The first day they can have: None when nothing limits the days (or, when not bookable,
    # when there is no such day online).
    first_day: datetime.date | None
    message: str  # for the client; "" when nothing stands in the way


def back_walking_outlook(*, client: Client, today: datetime.date) -> Outlook:
    """What the age check and the current screening already say, before a time is picked.

    It only explains and hides days early: the booking services judge every booking again.
    Costs at most one query (the current screening).
    """
    adult_from = first_adult_day(client.date_of_birth)
    if adult_from > today:
        # 18 on the day of booking too (they consent then), so not even for a later day.
        return Outlook(
            bookable=False,
            first_day=adult_from,
            message=f"You can book back-walking from {adult_from:%-d %B %Y}, your 18th "
            "birthday. Until then you are welcome to book our other treatments.",
        )
    screening = current_screening(client, health_data=False)
    if screening is None:
        return Outlook(bookable=True, first_day=None, message="")  # asked at the confirm step
    day = max(today, screening.eligible_from or today)
    verdict = screening_verdict(screening=screening, day=day)
    if verdict.new_screening_helps:
        return Outlook(bookable=True, first_day=None, message="")  # asked at the confirm step
    if not verdict.allowed:
        return Outlook(bookable=False, first_day=None, message=verdict.message)
    if day > today:
        return Outlook(
            bookable=True,
            first_day=day,
            message="After your recent injury or surgery you can book back-walking from "
            f"{day:%A %-d %B %Y}.",
        )
    return Outlook(bookable=True, first_day=None, message="")
