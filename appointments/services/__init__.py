"""Every write to an appointment goes through these services.

Each operation runs in one transaction, re-checks every rule against fresh data,
and raises BookingError with a message for the person who asked. PostgreSQL's
exclusion constraints are the guarantee; the checks here only give a friendly
message first. Split by what each part does:

- locking.py: the one lock order and time limit;
- gate.py: the back-walking gate at booking (age, screening, hold expiry);
- booking.py: claiming a free slot (shared with moving), and booking;
- changes.py: cancelling and moving;
- holds.py: the gate for a booking's whole life (judging again, holds, their expiry);
- outbox.py: the email a change owes, in its transaction.

Callers import from here.
"""

from . import holds
from .booking import SlotRequest, book_appointment, nearest_free_times
from .changes import (
    ChangeRule,
    can_change_online,
    cancel_appointment,
    change_rule,
    change_rule_of,
    online_change_deadline,
    reschedule_appointment,
)
from .errors import BUSY, TAKEN, BookingError, Refusal
from .gate import under_age_refusal
from .locking import lock_client

__all__ = [
    "BUSY",
    "TAKEN",
    "BookingError",
    "ChangeRule",
    "Refusal",
    "SlotRequest",
    "book_appointment",
    "can_change_online",
    "cancel_appointment",
    "change_rule",
    "change_rule_of",
    "holds",
    "lock_client",
    "nearest_free_times",
    "online_change_deadline",
    "reschedule_appointment",
    "under_age_refusal",
]
