"""Finding a caller among the clients, and what tells two of the same name apart."""

import datetime
import re

from django.db.models import F, OuterRef, Q, Subquery

from clients.models import Client, Digits
from spa_booking.row_checks import on_each_row

from ..models import Appointment

RESULTS = 20
# A search matching this few clients is answered from the list of their ids. More ("an":
# thousands of a chain's clients), and the clients are read in name order instead, each
# checked, until RESULTS are found: gathering every match first took 0.1-0.2 s.
LISTED = 1_000
# Fewer digits than this are part of a name or a date, not a phone number.
PHONE_DIGITS = 4


def parse_date(text: str) -> datetime.date | None:
    """27/3/1990, 27-03-1990, 27.3.1990, 27 3 1990 (day first, as the spa writes it) or
    1990-03-27."""
    text = text.strip()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    parts = re.fullmatch(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})", text)
    if parts is None:
        return None
    day, month, year = (int(part) for part in parts.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def find_clients(query: str) -> list[Client]:
    """Clients matching a name (every word), an email address, a phone number or a date
    of birth, each with `last_visit` (their latest completed appointment's start), the
    first RESULTS by name: the matches' ids (up to LISTED, a query for each way of
    matching), then the clients. Erased clients are never found."""
    query = " ".join(query.split())[:100]
    if not query:
        return []
    words = query.split(" ")
    # Each way of matching is a query of its own, which its index answers (clients.models):
    # an OR across the client and their login could only be answered by reading every
    # client.
    ways = [Client.objects.filter(*[Q(full_name__icontains=word) for word in words])]
    if len(words) == 1:
        ways.append(Client.objects.filter(user__email__icontains=query))
    born = parse_date(query)
    if born is not None:
        ways.append(Client.objects.filter(date_of_birth=born))
    else:
        digits = re.sub(r"\D", "", query)
        if len(digits) >= PHONE_DIGITS:
            ways.append(
                Client.objects.alias(phone_digits=Digits(F("phone"))).filter(
                    phone_digits__contains=digits
                )
            )
    # Each way's matches, as many as LISTED + 1 and no more: a common word stops there. A
    # query a way: a word too short for the trigram indexes reads each table once.
    found = list(
        dict.fromkeys(
            pk for way in ways for pk in way.order_by().values_list("pk", flat=True)[: LISTED + 1]
        )
    )
    if len(found) <= LISTED:
        matching = Q(pk__in=found)
    else:  # each client checked as the list is read (spa_booking.row_checks)
        matching = Q()
        for way in ways:
            matching |= on_each_row(way.filter(pk=OuterRef("pk")))
    last_visit = (
        Appointment.objects.filter(client=OuterRef("pk"), status=Appointment.Status.COMPLETED)
        .order_by("-starts_at")
        .values("starts_at")[:1]
    )
    return list(
        Client.objects.filter(matching, erased_at__isnull=True)
        .annotate(last_visit=Subquery(last_visit))
        .select_related("user")
        .order_by("full_name", "pk")[:RESULTS]
    )


def clients_own_appointment(
    *,
    client: Client,
    start: datetime.datetime,
    until: datetime.datetime,
    ignore_appointment_id: int | None = None,
) -> Appointment | None:
    """The client's other appointment that blocks [start, until): why a time was refused."""
    return (
        Appointment.objects.active()
        .filter(client=client)
        .overlapping(start, until)
        .exclude(pk=ignore_appointment_id)
        .select_related("treatment", "therapist")
        .first()
    )


def last_visit(client: Client) -> datetime.datetime | None:
    """When the client's latest completed appointment started."""
    return (
        Appointment.objects.filter(client=client, status=Appointment.Status.COMPLETED)
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
