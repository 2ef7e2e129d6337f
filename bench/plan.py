"""Which bookings the HTTP clients make, their sessions, and what their forms send."""

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q
from django.test import Client as TestClient
from django.utils import timezone

from appointments import free_times
from appointments.forms import format_start
from appointments.models import Appointment, Room, Treatment
from clients.backends import BACKEND
from clients.models import Client

from .seed import Diary


class _PostForm(HTMLParser):
    """The fields a person sends with the page's POST form: hidden values and their choices.

    Every checkbox is ticked and the first option of every radio group is picked, as a client
    confirming a booking does (the back-walking form asks "has anything in your health
    changed?" and offers "No" first), so the benchmark need not know the fields' names.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = values.get("method", "").lower() == "post"
        elif tag == "input" and self.inside and values.get("name"):
            kind = values.get("type", "text").lower()
            if kind == "hidden":
                self.fields[values["name"]] = values.get("value", "")
            elif kind == "checkbox" or (kind == "radio" and values["name"] not in self.fields):
                self.fields[values["name"]] = values.get("value") or "on"

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def post_form(page: bytes) -> dict[str, str]:
    reader = _PostForm()
    reader.feed(page.decode())
    return reader.fields


@dataclass
class Booking:
    """One booking a client thread makes: the confirmation page, then the form post."""

    client_id: int
    treatment: Treatment
    start: datetime.datetime
    therapist_id: int
    session: str = ""
    csrf_cookie: str = ""
    form: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/book/{self.treatment.slug}/"

    @property
    def query(self) -> str:
        return urlencode({"start": format_start(self.start), "therapist": self.therapist_id})


def plan_bookings(
    *, treatments: Sequence[Treatment], clients: Sequence[Client], count: int, seed: int = 7
) -> list[Booking]:
    """Distinct free (start, therapist) pairs that leave room for one another.

    A pair is kept only if its therapist and client are free then, and a suitable room is
    still free after the pairs kept so far, in the booking service's order of preference
    (rooms that other treatments need least come first). So the room each booking takes is
    the one planned for it, whatever order the bookings arrive in. Should two still meet in
    one room, the later one gets a 409, as a person would.
    """
    rng = random.Random(seed)
    now = timezone.now()
    # From tomorrow, so the two hours' minimum notice never runs out during the run.
    first_day = timezone.localdate(now) + datetime.timedelta(days=1)
    last_day = free_times.bookable_days(now)[1]
    candidates = [
        (slot, treatment)
        for treatment in treatments
        for slot in free_times.free_slots(
            treatment=treatment, first_day=first_day, last_day=last_day, now=now
        )
    ]
    rng.shuffle(candidates)
    rooms = [
        (room.pk, frozenset(item.pk for item in room.equipment.all()))
        for room in Room.objects.in_service().prefetch_related("equipment")
    ]
    needs = _equipment_needs()
    # Each treatment's rooms in the order the booking service prefers them.
    rooms_for = {
        t.pk: sorted(
            rooms,
            key=lambda room, t=t: (
                free_times.room_demand(room[1], needs, t.pk),
                len(room[1]),
                room[0],
            ),
        )
        for t in treatments
    }
    diary = Diary()
    for therapist_id, room_id, client_id, start, end in (
        Appointment.objects.active()
        .filter(blocked_until__gt=now)
        .values_list("therapist_id", "room_id", "client_id", "starts_at", "blocked_until")
    ):
        for key in (("therapist", therapist_id), ("room", room_id), ("client", client_id)):
            diary.add(key, start, end)
    client_ids = [client.pk for client in clients]
    rng.shuffle(client_ids)
    plan: list[Booking] = []
    turn = 0
    for slot, treatment in candidates:
        if len(plan) == count:
            break
        span = (slot.start, slot.end + treatment.buffer)
        if not diary.free(("therapist", slot.therapist_id), *span):
            continue
        room_id = next(
            (
                room_id
                for room_id, equipment in rooms_for[treatment.pk]
                if needs[treatment.pk] <= equipment and diary.free(("room", room_id), *span)
            ),
            None,
        )
        # Clients take turns, so a client comes back only after all the others.
        client_id = next(
            (
                client_ids[(turn + offset) % len(client_ids)]
                for offset in range(len(client_ids))
                if diary.free(("client", client_ids[(turn + offset) % len(client_ids)]), *span)
            ),
            None,
        )
        if room_id is None or client_id is None:
            continue
        turn = client_ids.index(client_id) + 1
        for key in (("therapist", slot.therapist_id), ("room", room_id), ("client", client_id)):
            diary.add(key, *span)
        plan.append(Booking(client_id, treatment, slot.start, slot.therapist_id))
    return plan


def log_in(plan: list[Booking]) -> None:
    """One session per client, made with force_login against the bench database."""
    users = {client.pk: client.user for client in Client.objects.select_related("user")}
    sessions: dict[int, str] = {}
    for booking in plan:
        if booking.client_id not in sessions:
            browser = TestClient()
            browser.force_login(users[booking.client_id], backend=BACKEND)
            sessions[booking.client_id] = browser.cookies[settings.SESSION_COOKIE_NAME].value
        booking.session = sessions[booking.client_id]


def _equipment_needs() -> dict[int, frozenset[int]]:
    """The equipment each bookable treatment needs, as the schedule query reads it."""
    rows = Treatment.objects.active().annotate(
        equipment_ids=ArrayAgg("equipment__id", filter=Q(equipment__isnull=False), default=[])
    )
    return {pk: frozenset(ids) for pk, ids in rows.values_list("pk", "equipment_ids")}
