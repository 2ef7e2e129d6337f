"""Every refusal in staff words, in one place.

The services word a refusal for the client ("please fill in our health screening"); the
front desk is told what stands in the way and what to do about it, keyed by the
refusal's code (appointments.services.Refusal, screening.eligibility.Why). Never a
health detail: which rule applies, not what the client answered.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from screening.eligibility import Why

from ..models import Appointment, PreSessionCheck
from ..services import BookingError
from ..services.errors import Refusal

_FILL_IN = "(we can email them the link)"

# {deadline_hours} and {horizon_days} are filled in from the settings when used.
STAFF_WORDS: dict[str, str] = {
    Why.NO_SCREENING: "This client has no health screening on file: they must fill one in "
    f"{_FILL_IN} before back-walking.",
    Why.SCREENING_EXPIRED: "This client's health screening runs out before this day: they "
    f"must fill in a new one {_FILL_IN} before back-walking on it.",
    Why.SCREENING_OUTDATED: "This client's health screening is on an older questionnaire: "
    f"they must fill in the current one {_FILL_IN} before back-walking.",
    Why.DECLINED: "A screening reviewer did not clear this client for back-walking. Offer "
    "another treatment; a reviewer can talk it through with them.",
    Why.NOT_ELIGIBLE: "This client's health screening rules out back-walking. Offer another "
    "treatment.",
    Why.NOT_ELIGIBLE_NOTE_CAN_CLEAR: "This client's health screening rules out back-walking "
    "unless their doctor says it is safe: a screening reviewer can clear it on a note from "
    "their doctor. Until then, offer another treatment.",
    Why.DOCTORS_NOTE: "This client needs a note from their doctor before back-walking: once "
    "a screening reviewer has it and clears them, you can book.",
    Why.RECOVERY_WAIT: "This client's health screening puts back-walking off until a later "
    "day (a recovery period). Pick a later day, or another treatment for now.",
    Refusal.UNDER_AGE: "This client is under 18: back-walking is only for adults (18 on the "
    "day of booking and on the day itself). Offer another treatment.",
    Refusal.HEALTH_NOT_CONFIRMED: "Ask the client whether anything in their health has "
    "changed since their last health screening, and tick the box only if they say nothing "
    "has. If something changed, they must fill in a new screening first "
    f"{_FILL_IN}.",
    Refusal.NO_TIME_FOR_REVIEW: "This client's health screening is waiting for a screening "
    "reviewer, and this time is too soon for the review (it must be done {deadline_hours} "
    "hours before the start). Pick a later time.",
    Refusal.NOT_AVAILABLE: "That time is no longer free for this treatment with this therapist.",
    Refusal.TAKEN: "Someone booked that time a moment ago.",
    Refusal.BUSY: "Many bookings are being made at once, so nothing was booked. Try again.",
    Refusal.TREATMENT_NOT_BOOKABLE: "This treatment is switched off (not bookable) in the admin.",
    Refusal.PASSED: "That time has already passed.",
    Refusal.BEYOND_HORIZON: "That time is further ahead than the spa books ({horizon_days} days).",
    Refusal.PICK_A_LISTED_TIME: "Pick a free time from the day book.",
    Refusal.ALREADY_CANCELLED: "This appointment is already cancelled.",
    Refusal.ALREADY_HAPPENED: "This appointment has already taken place.",
}

# Refusals where filling in a (new) screening is the way forward: the page offers to
# email the client the link.
NEEDS_SCREENING = {
    Why.NO_SCREENING,
    Why.SCREENING_EXPIRED,
    Why.SCREENING_OUTDATED,
    Refusal.HEALTH_NOT_CONFIRMED,
}

# Refusals of the time itself, which the nearest free times answer.
ABOUT_THE_TIME = {Refusal.NOT_AVAILABLE, Refusal.CLIENT_BUSY, Refusal.TAKEN}


@dataclass(frozen=True)
class StaffRefusal:
    message: str
    offers_screening_link: bool
    about_the_time: bool


def _span(appointment: Appointment) -> str:
    start = timezone.localtime(appointment.starts_at)
    end = timezone.localtime(appointment.ends_at)
    return f"{start:%H:%M}\u2013{end:%H:%M}"


def explain(error: BookingError, *, clients_own: Appointment | None = None) -> StaffRefusal:
    """The refusal for staff. `clients_own` is the client's other appointment at that time
    when that is the reason (Refusal.CLIENT_BUSY)."""
    if error.code == Refusal.CLIENT_BUSY:
        if clients_own is not None:
            message = (
                "This client already has an appointment at that time: "
                f"{clients_own.treatment} with {clients_own.therapist}, {_span(clients_own)}. "
                "Pick a time after it (the buffer after a treatment counts too), or move it."
            )
        else:
            message = "This client already has an appointment at that time."
    else:
        # A refusal nobody words for staff yet is still worth reading as it is.
        words = STAFF_WORDS.get(error.code)
        message = (
            words.format(
                deadline_hours=f"{settings.SPA_REVIEW_DEADLINE_HOURS:g}",
                horizon_days=settings.SPA_BOOKING_HORIZON_DAYS,
            )
            if words
            else error.message
        )
    about_the_time = error.code in ABOUT_THE_TIME
    if about_the_time:
        message += (
            " The nearest free times are below."
            if error.alternatives
            else " No free times within two days either side."
        )
    return StaffRefusal(
        message=message,
        offers_screening_link=error.code in NEEDS_SCREENING,
        about_the_time=about_the_time,
    )


def call_reason(appointment: Appointment) -> str:
    """Why the front desk calls about a flagged appointment (needs_follow_up), without what
    the screening said: that is for the screening reviewers."""
    check = getattr(appointment, "pre_session_check", None)
    if check is not None and check.outcome == PreSessionCheck.Outcome.STOPPED:
        return (
            "The therapist stopped this session at the check before it. Call to talk about "
            "what comes next; a screening reviewer has the details."
        )
    if appointment.status == Appointment.Status.CANCELLED:
        return (
            "The spa cancelled it: the back-walking gate no longer lets it go ahead (the "
            "client's age, health screening, or a review not done in time). Offer another "
            "treatment or time."
        )
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        deadline = timezone.localtime(appointment.hold_expires_at)
        return (
            "Held for a screening review after a change to the client's screening: tell them "
            f"we hold the time until {deadline:%A %-d %B, %H:%M}, and a reviewer decides."
        )
    return "It was held for a screening review and now goes ahead: let them know."
