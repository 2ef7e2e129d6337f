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

    Written line by line (RFC 5545: escaped text, UTC times, lines folded at 75 octets),
    not through the library's objects: a feed holds a therapist's five months, hundreds
    of events, and each property object cost a quarter of a millisecond (130 ms a feed).
    The emailed files above, one event each, keep the library.
    """
    stamp = _utc(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Spa Booking//Therapist schedule//EN",
        "VERSION:2.0",
        f"X-WR-CALNAME:{_text(f'{settings.SPA_NAME}: {therapist.display_name}')}",
    ]
    for appointment in appointments:
        summary = f"{appointment.treatment.name} \u2013 {appointment.client.first_name}"
        lines += [
            "BEGIN:VEVENT",
            f"SUMMARY:{_text(summary)}",
            f"DTSTART:{_utc(appointment.starts_at)}",
            f"DTEND:{_utc(appointment.ends_at)}",
            f"DTSTAMP:{stamp}",
            f"UID:{_text(appointment_uid(appointment))}",
            f"SEQUENCE:{appointment.revision}",
            f"LAST-MODIFIED:{_utc(appointment.updated_at)}",
            f"LOCATION:{_text(appointment.room.name)}",
            f"STATUS:{_event_status(appointment)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{_folded(line)}\r\n" for line in lines).encode()


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value escaped (RFC 5545, 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _folded(line: str, limit: int = 75) -> str:
    """The line folded (RFC 5545, 3.1): at most `limit` octets a line, each continuation
    starting with a space, never inside a UTF-8 character."""
    if len(line.encode()) <= limit:
        return line
    parts, current, size = [], [], 0
    for char in line:
        octets = len(char.encode())
        if size + octets > limit:
            parts.append("".join(current))
            current, size = [], 1  # the continuation's leading space
        current.append(char)
        size += octets
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _event_status(appointment: Appointment) -> str:
    if appointment.status == Appointment.Status.CANCELLED:
        return "CANCELLED"
    if appointment.status == Appointment.Status.PENDING_REVIEW:
        return "TENTATIVE"  # held until staff review the client's screening
    return "CONFIRMED"
