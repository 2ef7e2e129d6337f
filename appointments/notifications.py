"""Emails about appointments. Sent after the booking transaction commits."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from .ics import appointment_calendar
from .models import Appointment


def _send(appointment_id: int, template: str, subject: str, *, attach_calendar: bool) -> None:
    appointment = Appointment.objects.with_details().filter(pk=appointment_id).first()
    if appointment is None:
        return
    context = {
        "appointment": appointment,
        "client": appointment.client,
        "starts_at": timezone.localtime(appointment.starts_at),
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
        "cancellation_window": f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}",
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"appointments/email/{template}.txt", context),
        to=[appointment.client.user.email],
    )
    if attach_calendar:
        message.attach("appointment.ics", appointment_calendar(appointment), "text/calendar")
    message.send()


def send_booking_confirmation(appointment_id: int) -> None:
    _send(
        appointment_id, "confirmation", f"Your booking at {settings.SPA_NAME}", attach_calendar=True
    )


def send_cancellation_notice(appointment_id: int) -> None:
    _send(
        appointment_id,
        "cancellation",
        f"Your appointment at {settings.SPA_NAME} is cancelled",
        attach_calendar=True,
    )


def send_reschedule_notice(appointment_id: int) -> None:
    _send(
        appointment_id,
        "reschedule",
        f"Your appointment at {settings.SPA_NAME} has moved",
        attach_calendar=True,
    )


def send_reminder(appointment_id: int) -> None:
    _send(
        appointment_id,
        "reminder",
        f"Reminder: your appointment at {settings.SPA_NAME} tomorrow",
        attach_calendar=False,
    )
