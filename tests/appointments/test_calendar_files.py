"""Calendar files mail clients update in place: iTIP (RFC 5546) sent by email (RFC 6047).

The files are made with the icalendar library, so they are read back here with
a parser of our own, written from RFC 5545 (content lines, folding, parameters):
a file only icalendar understands would pass a test that reads it with icalendar.
"""

import datetime
import email
import re
from dataclasses import dataclass, field

import pytest
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment, Therapist
from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from tests.notices import deliver_owed_notices
from tests.scheduling import TOMORROW, at, open_spa
from tests.screenings import screen
from tests.test_settings import run_django

pytestmark = pytest.mark.usefixtures("frozen_clock")

DOMAIN = "stillwaters.example"
IN_TWO_DAYS = datetime.date(2026, 12, 3)  # outside the cancellation window


# A second reader of iCalendar, from RFC 5545 section 3.1


@dataclass
class Component:
    name: str
    properties: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    components: list["Component"] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for prop, _, value in self.properties if prop == name]

    def value(self, name: str) -> str:
        [value] = self.values(name)
        return value

    def params(self, name: str) -> dict[str, str]:
        [params] = [params for prop, params, _ in self.properties if prop == name]
        return params

    def walk(self, name: str) -> list["Component"]:
        found = [self] if self.name == name else []
        for child in self.components:
            found += child.walk(name)
        return found


# name *(";" param) ":" value; a parameter value may be a quoted string with ; or : in it.
CONTENT_LINE = re.compile(r'(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[^:;="]+=(?:"[^"]*"|[^:;"]*))*):')
PARAM = re.compile(r';(?P<name>[^:;="]+)=(?:"(?P<quoted>[^"]*)"|(?P<plain>[^:;"]*))')


def read_calendar(raw: bytes) -> Component:
    """Parse an iCalendar stream into its one VCALENDAR, checking the line rules on the way."""
    assert raw.endswith(b"\r\n"), "content lines end with CRLF"
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75, f"not folded at 75 octets: {line!r}"
    # Unfolding: a CRLF followed by one space or tab is removed (octets, before decoding).
    unfolded = re.sub(rb"\r\n[ \t]", b"", raw).decode("utf-8")
    stack = [Component("ROOT")]
    for line in unfolded.split("\r\n")[:-1]:
        match = CONTENT_LINE.match(line)
        assert match, f"not a content line: {line!r}"
        name, value = match["name"].upper(), line[match.end() :]
        params = {
            param["name"].upper(): param["quoted"]
            if param["quoted"] is not None
            else param["plain"]
            for param in PARAM.finditer(match["params"])
        }
        if name == "BEGIN":
            stack.append(Component(value.upper()))
        elif name == "END":
            done = stack.pop()
            assert done.name == value.upper(), f"END:{value} closes {done.name}"
            stack[-1].components.append(done)
        else:
            stack[-1].properties.append((name, params, value))
    [root] = stack
    [calendar] = root.components
    assert calendar.name == "VCALENDAR"
    return calendar


@dataclass
class CalendarPart:
    """The text/calendar part of a sent email, as a mail client receives it."""

    content_type: str
    method: str | None
    charset: str | None
    raw: bytes

    @property
    def calendar(self) -> Component:
        return read_calendar(self.raw)

    @property
    def event(self) -> Component:
        [event] = self.calendar.walk("VEVENT")
        return event


def calendar_part(message: mail.EmailMessage) -> CalendarPart:
    # As Django's SMTP backend puts it on the wire: CRLF line ends.
    received = email.message_from_bytes(message.message().as_bytes(linesep="\r\n"))
    [part] = [p for p in received.walk() if p.get_content_type() == "text/calendar"]
    return CalendarPart(
        content_type=part.get_content_type(),
        method=part.get_param("method"),
        charset=part.get_content_charset(),
        raw=part.get_payload(decode=True),
    )


def test_the_reader_unfolds_lines_and_reads_quoted_parameters():
    raw = (
        b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\n"
        b'ORGANIZER;CN="Spa; Still:Waters":mailto:a@b.example\r\n'
        b"DESCRIPTION:one\r\n  two\r\n\tthree\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    calendar = read_calendar(raw)

    [event] = calendar.walk("VEVENT")
    assert calendar.value("METHOD") == "PUBLISH"
    assert event.params("ORGANIZER") == {"CN": "Spa; Still:Waters"}
    assert event.value("ORGANIZER") == "mailto:a@b.example"
    assert event.value("DESCRIPTION") == "one twothree"


# The files the client gets


@pytest.fixture(autouse=True)
def calendar_domain(settings):
    settings.SPA_CALENDAR_DOMAIN = DOMAIN


@pytest.fixture
def spa(db):
    return open_spa()


def book(spa, client, start) -> Appointment:
    return book_appointment(
        client=client, treatment=spa.treatment, start=start, therapist=spa.therapist
    )


def sent_calendar() -> CalendarPart:
    """The calendar file of the one email the outbox sends now."""
    mail.outbox.clear()
    deliver_owed_notices()
    [message] = mail.outbox
    return calendar_part(message)


def test_a_booking_publishes_an_event_organized_by_the_spa_with_a_uid_of_its_domain(
    spa, ana, settings
):
    appointment = book(spa, ana, at(TOMORROW, 10))

    part = sent_calendar()

    assert (part.content_type, part.method, part.charset) == ("text/calendar", "PUBLISH", "utf-8")
    assert part.calendar.value("METHOD") == "PUBLISH"
    event = part.event
    assert event.value("ORGANIZER") == f"mailto:{settings.SPA_EMAIL}"
    assert event.params("ORGANIZER") == {"CN": settings.SPA_NAME}
    assert event.value("UID") == f"appointment-{appointment.pk}@{DOMAIN}"
    assert event.value("SEQUENCE") == "0"
    assert event.value("STATUS") == "CONFIRMED"
    assert event.value("DTSTART") == "20261202T100000Z"
    assert event.value("DTEND") == "20261202T110000Z"


def test_a_move_updates_the_same_event_with_a_higher_sequence(spa, ana):
    appointment = book(spa, ana, at(TOMORROW, 10))
    booked = sent_calendar().event
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))

    part = sent_calendar()

    assert (part.method, part.calendar.value("METHOD")) == ("PUBLISH", "PUBLISH")
    moved = part.event
    assert moved.value("UID") == booked.value("UID")
    assert int(moved.value("SEQUENCE")) > int(booked.value("SEQUENCE"))
    assert moved.value("DTSTART") == "20261202T140000Z"
    assert moved.value("STATUS") == "CONFIRMED"


def test_a_cancellation_cancels_the_same_event(spa, ana, settings):
    appointment = book(spa, ana, at(IN_TWO_DAYS, 10))
    booked = sent_calendar().event
    cancel_appointment(appointment=appointment)

    part = sent_calendar()

    assert (part.method, part.calendar.value("METHOD")) == ("CANCEL", "CANCEL")
    assert part.charset == "utf-8"
    cancelled = part.event
    assert cancelled.value("UID") == booked.value("UID")
    assert cancelled.value("STATUS") == "CANCELLED"
    assert int(cancelled.value("SEQUENCE")) > int(booked.value("SEQUENCE"))
    assert cancelled.value("ORGANIZER") == f"mailto:{settings.SPA_EMAIL}"


def test_calendar_files_carry_no_health_data(ana):
    spa = open_spa(back_walking=True, name="Ashiatsu")
    screen(ana, other_conditions="Sciatica, seeing a physiotherapist")
    appointment = book_appointment(
        client=ana,
        treatment=spa.treatment,
        start=at(IN_TWO_DAYS, 10),
        therapist=spa.therapist,
        health_unchanged=True,
    )
    assert appointment.status == Appointment.Status.PENDING_REVIEW
    held = sent_calendar()
    cancel_appointment(
        appointment=appointment, reason="Sciatica flare-up, see screening", by_staff=True
    )
    cancelled = sent_calendar()

    assert held.event.value("STATUS") == "TENTATIVE"
    assert cancelled.event.value("STATUS") == "CANCELLED"
    for part in (held, cancelled):
        text = re.sub(rb"\r\n[ \t]", b"", part.raw).decode().lower()
        for word in ("sciatica", "physio", "screening", "health", "flare"):
            assert word not in text


def test_the_therapists_feed_names_each_appointment_with_the_uid_of_the_clients_email(
    client, spa, ana
):
    appointment = book(spa, ana, at(TOMORROW, 10))
    emailed = sent_calendar().event
    token = Therapist.objects.values_list("feed_token", flat=True).get(pk=spa.therapist.pk)

    response = client.get(reverse("schedule:feed", args=[token]))

    assert response.status_code == 200
    [event] = read_calendar(response.content).walk("VEVENT")
    assert event.value("UID") == emailed.value("UID") == f"appointment-{appointment.pk}@{DOMAIN}"
    assert event.value("SEQUENCE") == emailed.value("SEQUENCE")


# The setting


def test_the_calendar_domain_is_the_spa_emails_unless_set():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SPA_CALENDAR_DOMAIN)"
    )
    secret = "x" * 60

    derived = run_django(code, DJANGO_SECRET_KEY=secret, SPA_EMAIL="hello@stillwaters.example")
    chosen = run_django(
        code,
        DJANGO_SECRET_KEY=secret,
        SPA_EMAIL="hello@stillwaters.example",
        SPA_CALENDAR_DOMAIN="bookings.stillwaters.example",
    )

    assert derived.stdout.strip() == "stillwaters.example", derived.stderr
    assert chosen.stdout.strip() == "bookings.stillwaters.example", chosen.stderr
