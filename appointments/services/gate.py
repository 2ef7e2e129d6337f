"""The back-walking gate at the moment of booking or moving: the age check, then a
screening that clears the appointment's day, re-confirmed by the client."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from clients.age import is_adult_on
from clients.models import Client
from screening.eligibility import HealthScreening, back_walking_verdict

from .. import free_times
from ..models import Appointment, Treatment
from .errors import BookingError, Refusal


def day_of(start: datetime.datetime) -> datetime.date:
    """The spa's local date of a moment."""
    return start.astimezone(free_times.spa_time_zone()).date()


def under_age_refusal(
    *, client: Client, treatment: Treatment, now: datetime.datetime | None = None
) -> str | None:
    """Why `client` cannot book `treatment` online today, whatever the day: under 18 today.

    18 or older on the day of booking (they consent then), in the spa's time zone; the
    appointment's day comes later, so it is later still.
    """
    if not treatment.is_back_walking:
        return None
    now = now or timezone.now()
    if not is_adult_on(client.date_of_birth, timezone.localdate(now)):
        return (
            "Back-walking massage is only for adults aged 18 and over, so we cannot book it "
            "for you. You are welcome to book our other treatments."
        )
    return None


@dataclass(frozen=True)
class Gate:
    """What the gate lets through: the status to write, and the screening it stands on."""

    status: str = Appointment.Status.CONFIRMED
    screening: HealthScreening | None = None
    hold_expires_at: datetime.datetime | None = None


def hold_expiry(*, start: datetime.datetime, now: datetime.datetime) -> datetime.datetime | None:
    """When a hold for the staff review is released: after the review time, and early
    enough before the start. None when that has already passed: no time for a review."""
    expires = min(
        now + datetime.timedelta(hours=settings.SPA_REVIEW_HOLD_HOURS),
        start - datetime.timedelta(hours=settings.SPA_REVIEW_DEADLINE_HOURS),
    )
    return expires if expires > now else None


def back_walking_gate(
    *,
    client: Client,
    treatment: Treatment,
    start: datetime.datetime,
    now: datetime.datetime,
    health_unchanged: bool,
) -> Gate:
    """Booking and moving (and so the admin) pass here, with the client locked.

    Age first, then a screening that is cleared (or approved) and valid on the
    appointment's day, re-confirmed by the client; a screening waiting for staff
    holds the appointment as pending_review until they decide.
    """
    if not treatment.is_back_walking:
        return Gate()
    refusal = under_age_refusal(client=client, treatment=treatment, now=now)
    if refusal:
        raise BookingError(refusal, code=Refusal.UNDER_AGE)
    verdict = back_walking_verdict(client=client, day=day_of(start))
    if not verdict.allowed:
        raise BookingError(verdict.message, code=verdict.why)
    if not health_unchanged:
        raise BookingError(
            "Please confirm that nothing in your health has changed since your health "
            f"screening on {verdict.screening.submitted_on:%-d %B %Y}.",
            code=Refusal.HEALTH_NOT_CONFIRMED,
        )
    if not verdict.hold:
        return Gate(screening=verdict.screening)
    expires = hold_expiry(start=start, now=now)
    if expires is None:
        raise BookingError(
            "Our staff need to review your health screening before back-walking, and this "
            "time is too soon for that. Please pick a later time, or call us on "
            f"{settings.SPA_PHONE}.",
            code=Refusal.NO_TIME_FOR_REVIEW,
        )
    return Gate(
        status=Appointment.Status.PENDING_REVIEW,
        screening=verdict.screening,
        hold_expires_at=expires,
    )
