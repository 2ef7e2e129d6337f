"""The emails a change owes the client, written in the change's own transaction."""

from django.db import connection
from django.utils import timezone

from ..models import Appointment, Notice

# Notice(appointment=..., kind=..., revision=...).save(), in SQL: every booking, move and
# cancellation writes one, and Django took longer to build the INSERT than PostgreSQL to
# run it. The columns without a database default get the model's defaults (tested).
_OWE_SQL = """
INSERT INTO appointments_notice
    (appointment_id, kind, revision, created_at, next_attempt_at, attempts, last_error)
VALUES (%(appointment)s, %(kind)s, %(revision)s, %(now)s, %(now)s, 0, '')
"""


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
    with connection.cursor() as cursor:
        cursor.execute(
            _OWE_SQL,
            {
                "appointment": appointment.pk,
                "kind": kind,
                "revision": appointment.revision,
                "now": timezone.now(),
            },
        )
