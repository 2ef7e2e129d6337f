"""The emails a change owes the client, written in the change's own transaction."""

from spa_booking.written_once import Insert

from ..models import Appointment, Notice

# Every booking, move and cancellation owes one (spa_booking/written_once.py).
_NEW_NOTICE = Insert(Notice)


def owe_notice(appointment: Appointment, kind: str) -> None:
    """Owe the client an email about this change, in this transaction.

    A held appointment is not booked yet, so whatever the change, the client is
    told it waits for the review (the held email gives its time).

    The send_notices worker emails it once the change is committed, outside the
    request: a rolled-back change owes nothing, and a slow or broken mail server
    neither holds up nor fails a booking.
    """
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        kind = Notice.Kind.HELD
    _NEW_NOTICE.save(Notice(appointment=appointment, kind=kind, revision=appointment.revision))
