"""Five years of appointments and their emails, laid out so that nothing can overlap.

Every room runs a fixed grid of 105-minute slots from 08:00 (the longest treatment, 90
minutes, plus its 15-minute buffer), two shifts of four slots a day. On each day each
working therapist is bound to one room for their shift, so a room's slot has at most
one therapist and a therapist at most one room; each slot's clients are drawn without
replacement, so a client has at most one appointment at a time. The exclusion
constraints, built after the load, check all three.
"""

import datetime
import random
from dataclasses import dataclass

from appointments.free_times import spa_time_zone

from .people import PROFILES, ROOM_KINDS, SHIFTS, Catalogue, Screenings, TherapistPlan
from .restore import Copier, text

SLOT = datetime.timedelta(minutes=105)
SLOTS_PER_SHIFT = 4
CANCELLED_SHARE = 0.05  # extra cancelled rows, which hold no time
NO_SHOW_SHARE = 0.035
HOLD_SHARE = 0.01  # of upcoming back-walking bookings in the next two weeks
FOLLOW_UP_SHARE = 0.002
POPULARITY = {"ashiatsu-60": 4, "ashiatsu-90": 2, "floor-back-walking-rope": 1, "swedish-60": 4}
REMINDER_LEAD = datetime.timedelta(hours=24)
# Days back that still have reminders in the outbox, and how far ahead they are written
# already: send_reminders then finds the last hour of its 24-hour window still to do.
REMINDERS_BACK = datetime.timedelta(days=3)
REMINDED_AHEAD = datetime.timedelta(hours=22)
BOOKED_AHEAD = datetime.timedelta(days=45)
# Notices of the last minutes are still owed in part: send_notices' pass has some work.
UNSENT_WINDOW = datetime.timedelta(hours=2)
UNSENT_SHARE = 0.3
GIVEN_UP_SHARE = 0.0005
SKIPPED_SHARE = 0.002
APPOINTMENT_COLUMNS = [
    "id", "client_id", "therapist_id", "treatment_id", "room_id", "starts_at", "ends_at",
    "blocked_until", "status", "created_at", "updated_at", "cancelled_at",
    "cancellation_reason", "revision", "reminder_sent_at", "screening_id", "hold_expires_at",
    "needs_follow_up", "arrived_at",
]  # fmt: skip


@dataclass
class History:
    active: int
    cancelled: int
    held: int
    past_fill: float
    persona_past: int
    persona_upcoming: int


class Outbox:
    """Notice rows: mostly sent; some of the last two hours' still owed, a few given up."""

    COLUMNS = [
        "id", "appointment_id", "screening_id", "user_id", "waitlist_offer_id",
        "requested_from", "kind", "revision", "created_at", "next_attempt_at", "attempts",
        "last_error", "sent_at", "skipped_at", "given_up_at",
    ]  # fmt: skip

    def __init__(self, rng: random.Random, now: datetime.datetime) -> None:
        self.rng = rng
        self.recent = now - UNSENT_WINDOW
        self.copier = Copier("appointments_notice", self.COLUMNS)
        self.count = 0

    def add(
        self,
        *,
        kind: str,
        created: datetime.datetime,
        revision: int = 0,
        appointment: int | None = None,
        screening: int | None = None,
        user: int | None = None,
        offer: int | None = None,
    ) -> None:
        self.count += 1
        at = text(created)
        draw = self.rng.random()
        if created > self.recent and draw < UNSENT_SHARE:
            state = f"{at}\t0\t\t\\N\t\\N\t\\N"  # owed: send_notices' next pass sends it
        elif draw < GIVEN_UP_SHARE:
            error = "SMTPRecipientsRefused: the mail server refused the address"
            state = f"{at}\t5\t{error}\t\\N\t\\N\t{at}"
        elif draw < GIVEN_UP_SHARE + SKIPPED_SHARE:
            state = f"{at}\t0\t\t\\N\t{at}\t\\N"
        else:
            state = f"{at}\t1\t\t{at}\t\\N\t\\N"
        ids = "\t".join(
            "\\N" if value is None else str(value)
            for value in (appointment, screening, user, offer)
        )
        self.copier.add(f"{self.count}\t{ids}\t\t{kind}\t{revision}\t{at}\t{state}")

    def close(self) -> int:
        return self.copier.close()


def _future_fill(days_ahead: int, horizon: int) -> float:
    """Tomorrow is nearly full, two months ahead nearly empty: people book a few weeks out."""
    return 0.85 * max(0.0, 1 - days_ahead / (horizon + 1)) ** 1.3 + 0.02


@dataclass(frozen=True)
class _Pair:
    """A therapist in a room for a shift, with the treatments they can give there."""

    plan: TherapistPlan
    room: int
    treatments: tuple  # Treatment objects
    weights: tuple[int, ...]


def _rosters(
    *, rng: random.Random, plans: list[TherapistPlan], cat: Catalogue, days: list[datetime.date]
) -> dict[tuple[datetime.date, str], list[_Pair]]:
    """Who works where: each working therapist gets a room of a kind they can use."""
    by_shift: dict[tuple[int, str], list[TherapistPlan]] = {}
    # Therapists who need the rarest rooms choose first.
    order = {"all": 0, "rope": 1, "bars": 2, "table": 3}
    for plan in sorted(plans, key=lambda plan: order[plan.profile]):
        for weekday in plan.weekdays:
            by_shift.setdefault((weekday, plan.shift), []).append(plan)
    room_treatments = {
        kind: {slug for slug, spec in cat.treatments.items() if _fits(spec, equipment)}
        for kind, (equipment, _) in ROOM_KINDS.items()
    }
    offers = {}
    for profile, (slugs, kinds, _) in PROFILES.items():
        for kind in kinds:
            given = tuple(cat.treatments[slug] for slug in slugs if slug in room_treatments[kind])
            offers[profile, kind] = (given, tuple(POPULARITY[t.slug] for t in given))
    rosters = {}
    for day in days:
        for shift in SHIFTS:
            free = {kind: rng.sample(rooms, len(rooms)) for kind, rooms in cat.rooms.items()}
            pairs = []
            for plan in by_shift.get((day.weekday(), shift), []):
                if day in plan.days_off:
                    continue
                for kind in PROFILES[plan.profile][1]:
                    if free[kind]:
                        given, weights = offers[plan.profile, kind]
                        pairs.append(_Pair(plan, free[kind].pop(), given, weights))
                        break
            rosters[day, shift] = pairs
    return rosters


def _fits(treatment, equipment: list[str]) -> bool:
    return {item.name for item in treatment.equipment.all()} <= set(equipment)


def write(
    *,
    rng: random.Random,
    size,
    now: datetime.datetime,
    first_day: datetime.date,
    last_day: datetime.date,
    cat: Catalogue,
    plans: list[TherapistPlan],
    screenings: Screenings,
    minors: set[int],
    persona: dict,
    outbox: Outbox,
) -> History:
    """Every day's slots, filled to the share that makes about `size.appointments` rows:
    the past evenly, the coming weeks less and less."""
    tz = spa_time_zone()
    today = now.astimezone(tz).date()
    days = [first_day + datetime.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    rosters = _rosters(rng=rng, plans=plans, cat=cat, days=days)
    horizon = (last_day - today).days

    def cells(day: datetime.date) -> int:
        return sum(len(rosters[day, shift]) for shift in SHIFTS) * SLOTS_PER_SHIFT

    past_cells = sum(cells(day) for day in days if day < today)
    future_expected = sum(
        cells(day) * _future_fill((day - today).days, horizon) for day in days if day >= today
    )
    active_target = size.appointments / (1 + CANCELLED_SHARE)
    past_fill = min(0.97, max(0.01, (active_target - future_expected) / max(past_cells, 1)))

    calendar = _Calendar(
        rng=rng,
        now=now,
        today=today,
        clients=size.clients,
        screenings=screenings,
        minors=minors,
        persona_id=persona["client"],
        outbox=outbox,
    )
    calendar.history.past_fill = past_fill
    forced = _persona_slots(rng, rosters, days, today, persona["past"])
    for day in days:
        fill = past_fill if day < today else _future_fill((day - today).days, horizon)
        for shift in SHIFTS:
            pairs = rosters[day, shift]
            if not pairs:
                continue
            opens = datetime.datetime.combine(
                day, datetime.time.fromisoformat(SHIFTS[shift][0]), tzinfo=tz
            )
            for k in range(SLOTS_PER_SHIFT):
                booked = [pair for pair in pairs if rng.random() < fill]
                is_forced = (day, shift, k) in forced
                if is_forced and not booked:
                    booked = [pairs[0]]
                if booked:
                    start = (opens + k * SLOT).astimezone(datetime.UTC)
                    calendar.slot(start, booked, persona_first=is_forced)
    return calendar.close()


def _persona_slots(rng, rosters, days, today, past: int) -> set:
    """The persona comes every week or so: `past` slots drawn from the history, and three
    upcoming ones (in two days, ten days, three weeks) that they can open, move, cancel."""
    past_slots = [
        (day, shift, k)
        for day in days
        if day < today
        for shift in SHIFTS
        if rosters[day, shift]
        for k in range(SLOTS_PER_SHIFT)
    ]
    forced = set(rng.sample(past_slots, min(past, len(past_slots))))
    for ahead in (2, 10, 21):
        day = today + datetime.timedelta(days=ahead)
        shift = next((shift for shift in SHIFTS if rosters.get((day, shift))), None)
        if shift is not None:
            forced.add((day, shift, 1))
    return forced


class _SlotClients:
    """The clients of one slot: drawn without replacement, so none is booked twice at the
    same time; minors are kept for treatments that are not back-walking."""

    def __init__(self, drawn: list[int], minors: set[int], persona_id: int) -> None:
        self.queue = iter(drawn)
        self.minors = minors
        self.persona_id = persona_id
        self.used: set[int] = set()
        self.waiting_minors: list[int] = []

    def take(self, client: int) -> bool:
        """`client` in this slot, unless they are in it already."""
        if client in self.used:
            return False
        self.used.add(client)
        return True

    def next(self, back_walking: bool) -> int | None:
        if not back_walking and self.waiting_minors:
            client = self.waiting_minors.pop()
        else:
            client = self._drawn()
            while client is not None and back_walking and client in self.minors:
                self.waiting_minors.append(client)
                client = self._drawn()
        if client is not None:
            self.used.add(client)
        return client

    def _drawn(self) -> int | None:
        for client in self.queue:
            if client not in self.used and client != self.persona_id:
                return client
        return None


class _Calendar:
    """The appointment rows being written, with their emails and pre-session checks."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime.datetime,
        today: datetime.date,
        clients: int,
        screenings: Screenings,
        minors: set[int],
        persona_id: int,
        outbox: Outbox,
    ) -> None:
        self.rng, self.now, self.today = rng, now, today
        self.screenings, self.minors, self.persona_id = screenings, minors, persona_id
        self.outbox = outbox
        self.history = History(0, 0, 0, 0.0, 0, 0)
        self.appointments = Copier("appointments_appointment", APPOINTMENT_COLUMNS)
        self.checks = Copier(
            "appointments_presessioncheck",
            ["id", "appointment_id", "outcome", "reason", "recorded_by_id", "recorded_at"],
        )
        self.last_id = 0
        self.last_check = 0
        # Regulars: one client in seven comes four times as often as the others.
        everyone = list(range(1, clients + 1))
        self.population = everyone + [client for client in everyone if client % 7 == 0] * 3
        self.adults = [client for client in everyone if client not in minors]
        self.pending = list(screenings.pending_clients)
        rng.shuffle(self.pending)
        # How long before the visit a past appointment was booked.
        self.leads = [datetime.timedelta(hours=rng.randint(2, 48)) for _ in range(40)] + [
            datetime.timedelta(days=rng.randint(2, 45), minutes=rng.randint(0, 1439))
            for _ in range(160)
        ]
        self.reminded = (now - REMINDERS_BACK, now + REMINDED_AHEAD)
        self.hold_until = now + datetime.timedelta(days=14)
        self.unclosed_from = now - datetime.timedelta(days=2)
        self.follow_up_from = now - datetime.timedelta(days=7)

    def slot(self, start: datetime.datetime, booked: list[_Pair], *, persona_first: bool) -> None:
        """One time of the grid: an appointment for each booked therapist and room."""
        rng = self.rng
        count = min(len(self.population), len(booked) * 6 // 5 + 5)
        clients = _SlotClients(rng.sample(self.population, count), self.minors, self.persona_id)
        start_text = text(start)
        ends: dict[int, tuple[str, str]] = {}
        for index, pair in enumerate(booked):
            treatment = (
                pair.treatments[0]
                if len(pair.treatments) == 1
                else rng.choices(pair.treatments, pair.weights)[0]
            )
            future = start >= self.now
            held = (
                treatment.is_back_walking
                and future
                and start < self.hold_until
                and bool(self.pending)
                and rng.random() < HOLD_SHARE
            )
            if persona_first and index == 0:
                client = self.persona_id
                clients.take(client)
                if future:
                    self.history.persona_upcoming += 1
                else:
                    self.history.persona_past += 1
            elif held and clients.take(self.pending[-1]):
                client = self.pending.pop()
            else:
                held = False
                client = clients.next(treatment.is_back_walking)
                if client is None:
                    continue  # the slot ran out of clients to draw (tiny seeds)
            if treatment.pk not in ends:
                end = start + treatment.duration
                ends[treatment.pk] = (text(end), text(end + treatment.buffer))
            end_text, blocked_text = ends[treatment.pk]
            self._active(start, start_text, end_text, blocked_text, pair, treatment, client, held)
            if rng.random() < CANCELLED_SHARE:
                self._cancelled(start, start_text, end_text, blocked_text, pair, treatment)

    def _created(self, start: datetime.datetime, held: bool) -> datetime.datetime:
        if held:
            return self.now - datetime.timedelta(seconds=self.rng.randint(3_600, 60 * 3_600))
        if start >= self.now:
            # Booked some time in the last weeks, at most 45 days ahead (the furthest days
            # of the horizon were opened to bookings in the last day).
            earliest = max(start - BOOKED_AHEAD, self.now - BOOKED_AHEAD)
            earliest = min(earliest, self.now - datetime.timedelta(days=1))
            return earliest + (self.now - earliest) * self.rng.random()
        return start - self.leads[self.rng.randrange(len(self.leads))]

    def _status(self, start: datetime.datetime, held: bool) -> str:
        if held:
            return "pending_review"
        if start >= self.now:
            return "confirmed"
        if start >= self.unclosed_from and self.rng.random() < 0.25:
            return "confirmed"  # not marked yet by the therapist or the front desk
        return "no_show" if self.rng.random() < NO_SHOW_SHARE else "completed"

    def _active(self, start, start_text, end_text, blocked_text, pair, treatment, client, held):
        created = self._created(start, held)
        created_text = text(created)
        status = self._status(start, held)
        updated = end_text if status in ("completed", "no_show") else created_text
        hold = "\\N"
        if held:
            expiry = min(
                created + datetime.timedelta(hours=48), start - datetime.timedelta(hours=4)
            )
            hold = text(expiry)
            self.history.held += 1
        arrived = "\\N"
        if start < self.now and status != "no_show" and _local_day(start) == self.today:
            arrived = text(start - datetime.timedelta(minutes=5))
        screening = None
        if held:
            screening = self.screenings.latest(client)
        elif treatment.is_back_walking:
            screening = self.screenings.on(client, created.timestamp())
        reminded = None
        if self.reminded[0] < start <= self.reminded[1]:
            reminded = max(created, start - REMINDER_LEAD)
        flagged = start >= self.follow_up_from and self.rng.random() < FOLLOW_UP_SHARE
        self.last_id += 1
        self.history.active += 1
        self.appointments.add(
            f"{self.last_id}\t{client}\t{pair.plan.therapist_id}\t{treatment.pk}\t"
            f"{pair.room}\t{start_text}\t{end_text}\t{blocked_text}\t{status}\t"
            f"{created_text}\t{updated}\t\\N\t\t0\t{_null(reminded and text(reminded))}\t"
            f"{_null(screening)}\t{hold}\t{'t' if flagged else 'f'}\t{arrived}"
        )
        self.outbox.add(
            kind="held" if held else "confirmation", created=created, appointment=self.last_id
        )
        if reminded is not None:
            self.outbox.add(kind="reminder", created=reminded, appointment=self.last_id)
        # Every completed back-walking visit had its check (marking it done needs one), and
        # the spa keeps them: the table grows with the history as the appointments do.
        if treatment.is_back_walking and status == "completed":
            self.last_check += 1
            self.checks.add(
                f"{self.last_check}\t{self.last_id}\tdone\t\t{pair.plan.user_id}\t"
                f"{text(start - datetime.timedelta(minutes=2))}"
            )

    def _cancelled(self, start, start_text, end_text, blocked_text, pair, treatment):
        """Someone else had this time first, and cancelled it: the row holds no time."""
        rng = self.rng
        client = self.adults[rng.randrange(len(self.adults))]
        booked_at = min(
            start - self.leads[rng.randrange(len(self.leads))],
            self.now - datetime.timedelta(days=1),
        )
        cancelled_at = min(
            booked_at + datetime.timedelta(hours=rng.randint(1, 72)),
            start - datetime.timedelta(hours=1),
        )
        if cancelled_at > self.now:
            cancelled_at = booked_at + (self.now - booked_at) * rng.random()
        booked_text, cancelled_text = text(booked_at), text(cancelled_at)
        screening = None
        if treatment.is_back_walking:
            screening = self.screenings.on(client, booked_at.timestamp())
        self.last_id += 1
        self.history.cancelled += 1
        self.appointments.add(
            f"{self.last_id}\t{client}\t{pair.plan.therapist_id}\t{treatment.pk}\t"
            f"{pair.room}\t{start_text}\t{end_text}\t{blocked_text}\tcancelled\t"
            f"{booked_text}\t{cancelled_text}\t{cancelled_text}\t"
            f"Cancelled online by the client.\t1\t\\N\t{_null(screening)}\t\\N\tf\t\\N"
        )
        self.outbox.add(kind="confirmation", created=booked_at, appointment=self.last_id)
        self.outbox.add(
            kind="cancellation", created=cancelled_at, revision=1, appointment=self.last_id
        )

    def close(self) -> History:
        self.appointments.close()
        self.checks.close()
        return self.history


def _local_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(spa_time_zone()).date()


def _null(value) -> str:
    return "\\N" if value is None else str(value)
