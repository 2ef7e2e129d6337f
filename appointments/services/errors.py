"""The one domain error of the booking services, and what PostgreSQL says under concurrency
turned into something a person can act on."""

import enum
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, OperationalError
from psycopg2 import errorcodes

from ..availability import Slot

TAKEN = "Sorry, that time was just taken."
BUSY = (
    "We could not finish your booking because many people are booking at once. "
    "Nothing was booked; please try again."
)


class Refusal(enum.StrEnum):
    """Why a booking operation was refused, so each audience can be told in its own words.

    The message of a BookingError is written for the client; staff pages word the same
    refusal for staff by its code (appointments/front_desk/wording.py). A refusal of the
    back-walking gate over the client's screening carries the verdict's code instead
    (screening.eligibility.Why).
    """

    PICK_A_LISTED_TIME = "pick_a_listed_time"
    PASSED = "passed"
    BEYOND_HORIZON = "beyond_horizon"
    TREATMENT_NOT_BOOKABLE = "treatment_not_bookable"
    NOT_AVAILABLE = "not_available"
    # Not available because the client has another appointment then.
    CLIENT_BUSY = "client_busy"
    TAKEN = "taken"
    BUSY = "busy"
    UNDER_AGE = "under_age"
    HEALTH_NOT_CONFIRMED = "health_not_confirmed"
    NO_TIME_FOR_REVIEW = "no_time_for_review"
    ONLINE_WINDOW = "online_window"
    ALREADY_CANCELLED = "already_cancelled"
    ALREADY_HAPPENED = "already_happened"


class BookingError(Exception):
    """A booking operation was refused; the message is for the person who asked.

    `code` says why (a Refusal, or a screening.eligibility.Why), "" when nobody words
    it differently."""

    def __init__(
        self, message: str, *, alternatives: list[Slot] | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.alternatives = alternatives or []
        self.code = code


class TimeTaken(Exception):
    """The chosen time went to someone else while we were claiming it.

    `constraint` names the exclusion constraint that refused the write (None when a
    look under the locks found it gone); `therapist_id` the therapist we had picked.
    """

    def __init__(self, constraint: str | None = None, *, therapist_id: int | None = None):
        super().__init__(constraint)
        self.constraint = constraint
        self.therapist_id = therapist_id


@contextmanager
def database_errors_as_booking_errors() -> Iterator[None]:
    """Turn what PostgreSQL says under concurrency into something a person can act on."""
    try:
        yield
    except IntegrityError as error:
        if getattr(error.__cause__, "pgcode", None) == errorcodes.EXCLUSION_VIOLATION:
            diagnostics = getattr(error.__cause__, "diag", None)
            raise TimeTaken(getattr(diagnostics, "constraint_name", None)) from error
        raise
    except OperationalError as error:
        # Two bookings that wait on each other (deadlock) or wait too long for
        # a lock are both safe to retry: nothing was written.
        if getattr(error.__cause__, "pgcode", None) in (
            errorcodes.DEADLOCK_DETECTED,
            errorcodes.LOCK_NOT_AVAILABLE,
            errorcodes.SERIALIZATION_FAILURE,
        ):
            raise BookingError(BUSY, code=Refusal.BUSY) from error
        raise
