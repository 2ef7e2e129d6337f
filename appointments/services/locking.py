"""Row locks: the one order every write takes them in, and the one time limit.

    therapist -> client -> appointment (by id, when several) -> room

A booking or a move locks its therapist and its client, then the appointment it moves,
then the room it takes; paths that change no therapist's day (a new screening, a staff
decision, a date of birth correction, a hold running out) start at the client. Taking
them in one order is what keeps concurrent writes from deadlocking, and holding the
client is what lets the back-walking gate judge a client's appointments while nothing
about that client can change underneath it.

NO KEY UPDATE: a new appointment row takes a key-share lock on its therapist, client
and room, and these locks must not block it.
"""

import uuid

from django.conf import settings
from django.db import connection


def lock_people(
    *,
    therapist_id: int,
    client_id: int,
    appointment_id: int | None = None,
    booking_token: uuid.UUID | None = None,
) -> int | None:
    """Lock the therapist, the client (and an appointment being moved), waiting at most
    SPA_BOOKING_LOCK_TIMEOUT_MS: concurrent inserts into an exclusion constraint can
    deadlock instead of one of them failing cleanly, so competing bookings queue here.

    With the client locked, a form sent twice is booked by one request at a time, so
    the id of the appointment an earlier send of `booking_token` made is exact: it is
    returned (None if there is none).
    """
    # One round trip: each statement takes its own snapshot, in this order.
    statements = [
        "SELECT set_config('lock_timeout', %s, true)",
        "SELECT 1 FROM appointments_therapist WHERE id = %s FOR NO KEY UPDATE",
        "SELECT 1 FROM clients_client WHERE id = %s FOR NO KEY UPDATE",
    ]
    params: list = [f"{settings.SPA_BOOKING_LOCK_TIMEOUT_MS}ms", therapist_id, client_id]
    if appointment_id is not None:
        statements.append("SELECT 1 FROM appointments_appointment WHERE id = %s FOR UPDATE")
        params.append(appointment_id)
    if booking_token is not None:
        statements.append(
            "SELECT id FROM appointments_appointment WHERE booking_token = %s AND client_id = %s"
        )
        params += [booking_token, client_id]
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements), params)
        row = cursor.fetchone() if booking_token is not None else None
    return row[0] if row else None


def lock_client(client_id: int) -> None:
    """Lock the client's row until the transaction ends: the start of every path that
    changes an input of the back-walking gate without booking a therapist's time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM clients_client WHERE id = %s FOR NO KEY UPDATE", [client_id])


def lock_room(room_id: int) -> None:
    """The last lock: another therapist's booking may take the same room at the same time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM appointments_room WHERE id = %s FOR NO KEY UPDATE", [room_id])
