"""May this client have back-walking on this day? Reads the client's current screening.

The booking services ask this on every path that books or moves a
back-walking appointment; pages ask it only to explain things early.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings

from clients.models import Client

from .models import HealthScreening


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # True: allowed, but held as pending_review until staff decide.
    hold: bool = False
    message: str = ""
    screening: HealthScreening | None = None
    # Whether filling in a (new) screening is the way forward.
    new_screening_helps: bool = False


def current_screening(client: Client) -> HealthScreening | None:
    """The client's latest submitted screening: the one that counts."""
    return HealthScreening.objects.filter(client=client).latest_first().first()


def back_walking_verdict(*, client: Client, day: datetime.date) -> Verdict:
    return screening_verdict(screening=current_screening(client), day=day)


def screening_verdict(*, screening: HealthScreening | None, day: datetime.date) -> Verdict:
    """What `screening` (None: the client has none) means for back-walking on `day`."""
    phone = settings.SPA_PHONE
    if screening is None:
        return Verdict(
            allowed=False,
            message="Before your first back-walking booking, please fill in our health "
            "screening. It takes a few minutes.",
            new_screening_helps=True,
        )
    if day > screening.valid_until:
        return Verdict(
            allowed=False,
            screening=screening,
            message=f"Your health screening is valid until {screening.valid_until:%-d %B %Y}, "
            "before this appointment. Please fill in a new one.",
            new_screening_helps=True,
        )
    if screening.eligible_from and day < screening.eligible_from:
        return Verdict(
            allowed=False,
            screening=screening,
            message="After your recent injury or surgery, back-walking has to wait until "
            f"{screening.eligible_from:%A %-d %B %Y}. Please pick a day from then on.",
        )
    review = HealthScreening.Review
    if screening.review == review.DECLINED:
        return Verdict(
            allowed=False,
            screening=screening,
            message="After reviewing your health screening, our staff could not clear you for "
            f"back-walking. Please call us on {phone} to talk about it or to book another "
            "treatment.",
        )
    if screening.outcome == HealthScreening.Outcome.NOT_ELIGIBLE and (
        screening.review != review.APPROVED
    ):
        return Verdict(
            allowed=False,
            screening=screening,
            message="Your health screening shows that back-walking is not safe for you, so we "
            "cannot book it online. If your doctor says it is safe, call us on "
            f"{phone}: we can clear it with a note from them.",
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
