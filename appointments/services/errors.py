"""The one domain error of the booking services, and what PostgreSQL says under concurrency
turned into something a person can act on."""

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


class BookingError(Exception):
    """A booking operation was refused; the message is for the person who asked."""

    def __init__(self, message: str, *, alternatives: list[Slot] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.alternatives = alternatives or []


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
            raise BookingError(BUSY) from error
        raise
