"""iCalendar files for appointments, made with the icalendar library.

The file in an email is an iTIP message (RFC 5546, sent as RFC 6047 says): the
spa as ORGANIZER, METHOD PUBLISH or CANCEL both in the file and in the email's
MIME type, and a UID and SEQUENCE that stay with the appointment. With those,
mail clients update the event already in the calendar instead of adding another.
"""

import datetime

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from .models import Appointment


def appointment_uid(appointment: Appointment) -> str:
    # Stable across reschedules, so calendar apps move the event instead of adding
    # one; the spa's own domain, so no other installation's appointment 1 is this one.
    return f"appointment-{appointment.pk}@{settings.SPA_CALENDAR_DOMAIN}"


def _method(appointment: Appointment) -> str:
    return "CANCEL" if appointment.status == Appointment.Status.CANCELLED else "PUBLISH"


def _organizer() -> vCalAddress:
    organizer = vCalAddress(f"mailto:{settings.SPA_EMAIL}")
    organizer.params["cn"] = settings.SPA_NAME
    return organizer


def appointment_event(appointment: Appointment) -> Event:
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("organizer", _organizer())
    event.add("dtstamp", timezone.now().astimezone(datetime.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
    event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
    event.add("sequence", appointment.revision)
    event.add("summary", f"{appointment.treatment.name} at {settings.SPA_NAME}")
    event.add("location", f"{settings.SPA_NAME}, {appointment.room.name}")
    event.add(
        "description",
        f"{appointment.treatment.name} with {appointment.therapist.display_name}.\n"
        f"To change or cancel, visit your appointments or call {settings.SPA_PHONE}.",
    )
    event.add("status", _event_status(appointment))
    return event


def appointment_calendar(appointment: Appointment) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Spa Booking//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", _method(appointment))
    calendar.add_component(appointment_event(appointment))
    return calendar.to_ical()


def appointment_attachment(appointment: Appointment) -> tuple[str, bytes, str]:
    """The calendar file as an email attachment: (file name, content, MIME type).

    The MIME type repeats the file's METHOD (RFC 6047); Django adds charset="utf-8".
    """
    return (
        "appointment.ics",
        appointment_calendar(appointment),
        f"text/calendar; method={_method(appointment)}",
    )


def therapist_feed(therapist, appointments) -> bytes:
    """A therapist's calendar feed: time, treatment, room and the client's first name only.

    Never health details: calendar apps sync these to phones and other services.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Spa Booking//Therapist schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{settings.SPA_NAME}: {therapist.display_name}")
    stamp = timezone.now().astimezone(datetime.UTC)
    for appointment in appointments:
        event = Event()
        event.add("uid", appointment_uid(appointment))
        event.add("dtstamp", stamp)
        event.add("last-modified", appointment.updated_at.astimezone(datetime.UTC))
        event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
        event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
        event.add("sequence", appointment.revision)
        event.add(
            "summary",
            f"{appointment.treatment.name} \u2013 {appointment.client.first_name}",
        )
        event.add("location", appointment.room.name)
        event.add("status", _event_status(appointment))
        calendar.add_component(event)
    return calendar.to_ical()


def _event_status(appointment: Appointment) -> str:
    if appointment.status == Appointment.Status.CANCELLED:
        return "CANCELLED"
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        return "TENTATIVE"  # held until staff review the client's screening
    return "CONFIRMED"
