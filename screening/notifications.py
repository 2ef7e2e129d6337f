"""Emails about screening decisions: what was decided, never the staff's internal note.

The decision services only owe the email (a Notice); the send_notices worker
calls send_decision afterwards, outside the staff member's request.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from appointments.models import Appointment
from appointments.services.holds import REVIEW_TOO_LATE
from spa_booking.context_processors import spa_details

from .models import HealthScreening


def send_decision(screening_id: int, *, headers: dict[str, str] | None = None) -> None:
    """Email the client what was decided (`headers`: e.g. the outbox's Message-ID)."""
    screening = (
        HealthScreening.objects.select_related("client__user").filter(pk=screening_id).first()
    )
    if screening is None:
        return
    approved = screening.review == HealthScreening.Review.APPROVED
    appointments = list(screening.appointments.select_related("treatment").order_by("starts_at"))
    context = {
        "client": screening.client,
        "approved": approved,
        "appointments": appointments,
        # Held times whose hold ran out before the decision: the client books again.
        "released": [
            appointment
            for appointment in appointments
            if appointment.status == Appointment.Status.CANCELLED
            and appointment.cancellation_reason.startswith(REVIEW_TOO_LATE)
        ],
        "site_url": settings.SPA_SITE_URL,
        **spa_details(),
    }
    subject = (
        "Your health screening is cleared for back-walking"
        if approved
        else "About your health screening for back-walking"
    )
    context["subject"] = subject
    # Plain text first, and the same in HTML for the mail apps that show it.
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("screening/email/decision.txt", context),
        to=[screening.client.user.email],
        headers=headers,
    )
    message.attach_alternative(
        render_to_string("screening/email/decision.html", context), "text/html"
    )
    message.send()
