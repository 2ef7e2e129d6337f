"""Today's work at the front desk: who is coming, which bookings wait for a health review,
and whom to call. Three queries, however long the lists."""

import datetime
from dataclasses import dataclass

from .. import free_times
from ..models import Appointment, PreSessionCheck
from .day_book import with_front_desk_details
from .wording import call_reason


@dataclass
class WorkList:
    arrivals: list[Appointment]  # today's, in order of start
    held: list[Appointment]  # waiting for a screening review, soonest deadline first
    # Flagged for a call (needs_follow_up): the spa cancelled or held them...
    calls: list[Appointment]
    # ...or the therapist stopped the session at the pre-session check: the client is
    # owed a follow-up about what comes next.
    follow_ups: list[Appointment]


def load_work_list(*, today: datetime.date, now: datetime.datetime) -> WorkList:
    day_start, day_end = free_times.local_days(today)
    arrivals = list(
        with_front_desk_details(
            Appointment.objects.active().filter(starts_at__gte=day_start, starts_at__lt=day_end)
        ).order_by("starts_at", "pk")
    )
    held = list(
        with_front_desk_details(
            Appointment.objects.filter(status=Appointment.Status.PENDING_REVIEW, starts_at__gt=now)
        ).order_by("hold_expires_at", "starts_at", "pk")
    )
    flagged = list(
        with_front_desk_details(Appointment.objects.filter(needs_follow_up=True)).order_by(
            "starts_at", "pk"
        )
    )
    for appointment in flagged:
        appointment.call_reason = call_reason(appointment)
    follow_ups = [a for a in flagged if _session_stopped(a)]
    calls = [a for a in flagged if not _session_stopped(a)]
    return WorkList(arrivals=arrivals, held=held, calls=calls, follow_ups=follow_ups)


def _session_stopped(appointment: Appointment) -> bool:
    check = getattr(appointment, "pre_session_check", None)
    return check is not None and check.outcome == PreSessionCheck.Outcome.STOPPED
