"""The front desk's calls to clients whose appointment is flagged (needs_follow_up)."""

import datetime

from django.db import transaction
from django.utils import timezone

from clients.models import User

from ..models import Appointment, FollowUpCall
from ..services import BookingError


@transaction.atomic
def record_call(
    *, appointment: Appointment, by: User, now: datetime.datetime | None = None
) -> FollowUpCall:
    """Staff called the client about a flagged appointment: the flag is cleared, and who
    called when is kept. A second click (two people at the desk) is refused, not
    recorded twice."""
    now = now or timezone.now()
    if not by.is_staff:
        raise BookingError("Only staff record calls.")
    # The appointment's row lock: judging the client's bookings again (holds.py) flags
    # under the same lock, so a flag raised meanwhile is never cleared unseen.
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not locked.needs_follow_up:
        last = FollowUpCall.objects.filter(appointment=locked).select_related("called_by").first()
        if last is not None:
            when = timezone.localtime(last.called_at)
            raise BookingError(
                f"This call is already recorded: {last.called_by} at {when:%H:%M} on {when:%-d %B}."
            )
        raise BookingError("No call is owed for this appointment.")
    call = FollowUpCall.objects.create(appointment=locked, called_by=by, called_at=now)
    locked.needs_follow_up = False
    locked.save(update_fields=["needs_follow_up"])
    return call
