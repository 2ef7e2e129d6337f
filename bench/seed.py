"""A realistic spa for the benchmark: 10 therapists, 7 rooms, 300 clients, 8 weeks of bookings.

Appointments are computed here and written with bulk_create: this is benchmark data, not a
user path, and going through the booking service would take minutes. The computation keeps
every therapist, room and client free of overlaps (the exclusion constraints would refuse the
insert otherwise), and fills each therapist's working time to a target share.
"""

import datetime
import heapq
import random
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from appointments import free_times
from appointments.management.commands.seed_demo import EQUIPMENT, TREATMENTS
from appointments.models import (
    Appointment,
    Equipment,
    Qualification,
    Room,
    Therapist,
    TimeOff,
    Treatment,
    WorkingHours,
)
from clients.models import Client, User
from screening import rules
from screening.models import HealthScreening
from screening.services import submit_screening

WEEKS_BEFORE = 4  # completed and no-show appointments: the past the busy query must skip
WEEKS_AFTER = 4  # confirmed appointments: the weeks clients look at
CLIENTS = 300
STEP = datetime.timedelta(minutes=15)
CANCELLED_SHARE = 0.05  # extra cancelled rows, which hold no time but are still in the table
GAP_STEPS = (1, 2, 4, 6)  # free quarter hours left between appointments
TARGET_OCCUPANCY = 0.6  # of each therapist's working time, blocked by appointments
OPEN_HOURS = 9  # 09:00-18:00, Monday to Saturday: the rooms' capacity

BARS, ROPE, TABLE = "Overhead bars", "Floor mat with rope", "Massage table"
ROOMS = {
    "Bamboo room": [BARS, TABLE],
    "Cedar room": [BARS, TABLE, ROPE],
    "Oak room": [BARS, TABLE],
    "Linden room": [ROPE, TABLE],
    "Willow room": [TABLE],
    "Maple room": [BARS, TABLE],
    "Birch room": [BARS, TABLE],
}

# Working blocks, Monday to Saturday; a split shift has a long lunch break.
EARLY = [("09:00", "17:00")]
LATE = [("10:00", "18:00")]
SPLIT = [("09:00", "12:30"), ("14:00", "18:00")]

A60, A90, ROPE75, SWEDISH = "ashiatsu-60", "ashiatsu-90", "floor-back-walking-rope", "swedish-60"

# (name, working blocks, weekdays off among Monday (0) to Saturday (5), qualifications).
# Back-walking is hard on the body: most therapists work four days, a few five. Everyone
# works on Wednesdays (the team day), so the front desk's day book is measured with all
# ten columns.
THERAPISTS = [
    ("Maya", EARLY, {1, 5}, [A60, A90, SWEDISH]),
    ("Kai", LATE, {0}, [A60, ROPE75, SWEDISH]),
    ("Priya", SPLIT, {1, 4}, [SWEDISH, ROPE75]),
    ("Jonas", EARLY, {3}, [A60, A90]),
    ("Aiko", LATE, {0, 3}, [A60, A90, SWEDISH]),
    ("Lena", SPLIT, {5}, [A60, SWEDISH]),
    ("Tomas", EARLY, {1, 5}, [A60, A90, ROPE75]),
    ("Noor", LATE, {3}, [SWEDISH, ROPE75]),
    ("Sven", SPLIT, {0, 4}, [A60, A90, SWEDISH]),
    ("Ines", EARLY, {4, 1}, [SWEDISH, A60]),
]
# Tomas's Ashiatsu certificate runs out in three weeks: his free times stop there.
EXPIRING = ("Tomas", A60, datetime.timedelta(weeks=3))
# How often each treatment is booked, relative to the others.
POPULARITY = {A60: 4, A90: 2, ROPE75: 1, SWEDISH: 4}


@dataclass
class Seeded:
    treatments: dict[str, Treatment]
    clients: list[Client]
    first_day: datetime.date
    last_day: datetime.date
    appointments: int
    cancelled: int
    therapist_occupancy: float  # blocked time of active appointments / working time
    room_occupancy: float  # blocked room time / (rooms x 09:00-18:00, Monday to Saturday)


class Diary:
    """Blocked spans per key (a therapist, a room, a client), filed by day for quick checks."""

    def __init__(self) -> None:
        self.spans: dict[tuple, list[tuple[datetime.datetime, datetime.datetime]]] = defaultdict(
            list
        )

    def free(self, key, start: datetime.datetime, end: datetime.datetime) -> bool:
        return all(
            end <= s or e <= start for day in _utc_days(start, end) for s, e in self.spans[key, day]
        )

    def add(self, key, start: datetime.datetime, end: datetime.datetime) -> None:
        for day in _utc_days(start, end):
            self.spans[key, day].append((start, end))


def _utc_days(start: datetime.datetime, end: datetime.datetime) -> list[datetime.date]:
    first, last = start.astimezone(datetime.UTC).date(), end.astimezone(datetime.UTC).date()
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def seed(
    *, now: datetime.datetime, target: float = TARGET_OCCUPANCY, rng_seed: int = 2026
) -> Seeded:
    rng = random.Random(rng_seed)
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(weeks=WEEKS_BEFORE)
    last_day = today + datetime.timedelta(weeks=WEEKS_AFTER) - datetime.timedelta(days=1)
    with transaction.atomic():
        treatments, needs, rooms = _catalogue()
        staff = _therapists(treatments, now)
        clients = _clients(rng, now)
        screenings = _screenings(clients, now)
        calendar = _Calendar(
            rng=rng, now=now, rooms=rooms, needs=needs, clients=clients, screenings=screenings
        )
        worked, blocked = calendar.fill(staff, _days(first_day, last_day), target)
        cancelled = _cancelled(rng, now, calendar.rows, clients)
        Appointment.objects.bulk_create(calendar.rows + cancelled, batch_size=1000)
    open_days = sum(1 for day in _days(first_day, last_day) if day.weekday() != 6)
    return Seeded(
        treatments=treatments,
        clients=clients,
        first_day=first_day,
        last_day=last_day,
        appointments=len(calendar.rows),
        cancelled=len(cancelled),
        therapist_occupancy=blocked / worked,
        room_occupancy=blocked / (len(rooms) * open_days * OPEN_HOURS * 60),
    )


def _catalogue() -> tuple[
    dict[str, Treatment], dict[int, frozenset[int]], list[tuple[Room, frozenset[int]]]
]:
    """The treatments by slug, the equipment ids each needs, the rooms with theirs."""
    equipment = {
        name: Equipment.objects.create(name=name, description=description)
        for name, description in EQUIPMENT.items()
    }
    treatments, needs = {}, {}
    for spec in TREATMENTS:
        treatment = Treatment.objects.create(
            **{key: value for key, value in spec.items() if key != "equipment"}
        )
        treatment.equipment.set([equipment[name] for name in spec["equipment"]])
        treatments[spec["slug"]] = treatment
        needs[treatment.pk] = frozenset(equipment[name].pk for name in spec["equipment"])
    rooms = []
    for name, items in ROOMS.items():
        room = Room.objects.create(name=name)
        room.equipment.set([equipment[item] for item in items])
        rooms.append((room, frozenset(equipment[item].pk for item in items)))
    # Least-equipped first, as availability.free_slots picks rooms.
    rooms.sort(key=lambda pair: (len(pair[1]), pair[0].pk))
    return treatments, needs, rooms


@dataclass
class _Staff:
    therapist: Therapist
    blocks: list[tuple[datetime.time, datetime.time]]
    days_off: set[int]
    treatments: list[Treatment]
    time_off: list[tuple[datetime.datetime, datetime.datetime]]


def _therapists(treatments: dict[str, Treatment], now: datetime.datetime) -> list[_Staff]:
    password = make_password(None)  # therapists log in elsewhere; the benchmark never does
    staff = []
    for name, blocks, days_off, slugs in THERAPISTS:
        user = User.objects.create(email=f"{name.lower()}@bench.example", password=password)
        therapist = Therapist.objects.create(user=user, display_name=name)
        times = [
            (datetime.time.fromisoformat(a), datetime.time.fromisoformat(b)) for a, b in blocks
        ]
        WorkingHours.objects.bulk_create(
            WorkingHours(therapist=therapist, weekday=day, starts_at=start, ends_at=end)
            for day in range(6)
            if day not in days_off
            for start, end in times
        )
        for slug in slugs:
            expires_on = None
            if (name, slug) == EXPIRING[:2]:
                expires_on = timezone.localdate(now) + EXPIRING[2]
            Qualification.objects.create(
                therapist=therapist, treatment=treatments[slug], expires_on=expires_on
            )
        staff.append(
            _Staff(therapist, times, days_off, [treatments[slug] for slug in slugs], time_off=[])
        )
    # A week of holiday in two weeks' time, and a sick day last week.
    tz = free_times.spa_time_zone()
    today = timezone.localdate(now)
    monday = today - datetime.timedelta(days=today.weekday())
    for index, start_day, days in (
        (3, monday + datetime.timedelta(weeks=2), 7),
        (7, today - datetime.timedelta(days=6), 1),
    ):
        starts = datetime.datetime.combine(start_day, datetime.time.min, tzinfo=tz)
        ends = datetime.datetime.combine(
            start_day + datetime.timedelta(days=days), datetime.time.min, tzinfo=tz
        )
        TimeOff.objects.create(
            therapist=staff[index].therapist, starts_at=starts, ends_at=ends, reason="Bench"
        )
        staff[index].time_off.append((starts, ends))
    return staff


def _clients(rng: random.Random, now: datetime.datetime) -> list[Client]:
    password = make_password(None)  # sessions are made with force_login, not passwords
    users = User.objects.bulk_create(
        User(email=f"client{number:03d}@bench.example", password=password, date_joined=now)
        for number in range(CLIENTS)
    )
    return Client.objects.bulk_create(
        Client(
            user=user,
            full_name=f"Bench Client {number:03d}",
            phone=f"07700 9{number:05d}",
            date_of_birth=datetime.date(rng.randint(1950, 2004), rng.randint(1, 12), 14),
            created_at=now,
        )
        for number, user in enumerate(users)
    )


def _screenings(clients: list[Client], now: datetime.datetime) -> dict[int, HealthScreening]:
    """Every client has a cleared health screening, so they may book back-walking online."""
    return {
        client.pk: submit_screening(
            client=client,
            answers=rules.nothing_to_declare(),
            signature_name=client.full_name,
            consent=True,
            now=now - datetime.timedelta(weeks=6),
        ).screening
        for client in clients
    }


def _days(first: datetime.date, last: datetime.date):
    day = first
    while day <= last:
        yield day
        day += datetime.timedelta(days=1)


class _Calendar:
    """The appointments being laid out, with what each room and client already holds."""

    def __init__(self, *, rng, now, rooms, needs, clients, screenings) -> None:
        self.rng, self.now, self.rooms, self.needs, self.clients = rng, now, rooms, needs, clients
        self.screenings = screenings
        self.diary = Diary()
        self.rows: list[Appointment] = []

    def fill(self, staff: list[_Staff], days, target: float) -> tuple[float, float]:
        """Walk each day's working time in time order, booking while a therapist is under target.

        Returns the working minutes and the blocked minutes of the active appointments.
        """
        worked = blocked = 0.0
        booked: dict[int, float] = defaultdict(float)  # per therapist, minutes
        elapsed: dict[int, float] = defaultdict(float)  # working minutes walked so far
        for day in days:
            blocks_of = {index: _blocks(person, day) for index, person in enumerate(staff)}
            # (cursor, therapist index, block index): popping the earliest cursor lets the
            # day's therapists compete for the rooms in time order.
            heap = [(blocks[0][0], index, 0) for index, blocks in blocks_of.items() if blocks]
            heapq.heapify(heap)
            worked += sum(_minutes(a, b) for blocks in blocks_of.values() for a, b in blocks)
            while heap:
                cursor, index, block = heapq.heappop(heap)
                person, (block_start, block_end) = staff[index], blocks_of[index][block]
                therapist_id = person.therapist.pk
                fitting = [t for t in person.treatments if cursor + t.duration <= block_end]
                if not fitting:
                    elapsed[therapist_id] += _minutes(cursor, block_end)
                    if block + 1 < len(blocks_of[index]):
                        heapq.heappush(heap, (blocks_of[index][block + 1][0], index, block + 1))
                    continue
                # The further below target the therapist is, the likelier a booking.
                deficit = target * elapsed[therapist_id] - booked[therapist_id]
                row = None
                wanted = self.rng.random() < min(0.95, max(0.05, 0.4 + deficit / 90))
                if wanted:
                    weights = [POPULARITY[t.slug] for t in fitting]
                    treatment = self.rng.choices(fitting, weights)[0]
                    row = self._book(treatment, person.therapist, cursor)
                if row is None:
                    # No room or client free: try the next quarter hour. Nobody asked: leave
                    # a gap, as real diaries have (a free hour is what a later client books).
                    gap = STEP if wanted else STEP * self.rng.choice(GAP_STEPS)
                    next_cursor = min(cursor + gap, block_end)
                else:
                    minutes = _minutes(row.starts_at, row.blocked_until)
                    booked[therapist_id] += minutes
                    blocked += minutes
                    # Back onto the 15-minute grid of the working block.
                    steps = -(-(row.blocked_until - block_start) // STEP)
                    next_cursor = min(block_start + steps * STEP, block_end)
                elapsed[therapist_id] += _minutes(cursor, next_cursor)
                heapq.heappush(heap, (next_cursor, index, block))
        return worked, blocked

    def _book(
        self, treatment: Treatment, therapist: Therapist, start: datetime.datetime
    ) -> Appointment | None:
        end = start + treatment.duration
        blocked_until = end + treatment.buffer
        room = next(
            (
                room
                for room, equipment in self.rooms
                if self.needs[treatment.pk] <= equipment
                and self.diary.free(("room", room.pk), start, blocked_until)
            ),
            None,
        )
        if room is None:
            return None
        for _ in range(10):
            client = self.rng.choice(self.clients)
            if self.diary.free(("client", client.pk), start, blocked_until):
                break
        else:
            return None
        self.diary.add(("room", room.pk), start, blocked_until)
        self.diary.add(("client", client.pk), start, blocked_until)
        # Drawn every time, so the layout does not depend on the time of day the run starts.
        no_show = self.rng.random() < 0.04
        if start >= self.now:
            status = Appointment.Status.CONFIRMED
        elif no_show:
            status = Appointment.Status.NO_SHOW
        else:
            status = Appointment.Status.COMPLETED
        created = min(self.now, start - datetime.timedelta(days=self.rng.randint(1, 30)))
        row = Appointment(
            client=client,
            therapist=therapist,
            treatment=treatment,
            room=room,
            starts_at=start,
            ends_at=end,
            blocked_until=blocked_until,
            status=status,
            created_at=created,
            updated_at=created,
            screening=self.screenings[client.pk] if treatment.is_back_walking else None,
        )
        self.rows.append(row)
        return row


def _minutes(start: datetime.datetime, end: datetime.datetime) -> float:
    return (end - start).total_seconds() / 60


def _blocks(
    person: _Staff, day: datetime.date
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The therapist's working blocks on `day` in UTC, leaving out those in time off."""
    if day.weekday() == 6 or day.weekday() in person.days_off:
        return []
    tz = free_times.spa_time_zone()
    blocks = []
    for opens, closes in person.blocks:
        start = datetime.datetime.combine(day, opens, tzinfo=tz).astimezone(datetime.UTC)
        end = datetime.datetime.combine(day, closes, tzinfo=tz).astimezone(datetime.UTC)
        if all(end <= off_start or off_end <= start for off_start, off_end in person.time_off):
            blocks.append((start, end))
    return blocks


def _cancelled(rng, now, rows: list[Appointment], clients: list[Client]) -> list[Appointment]:
    """Cancelled appointments: same shape as the others, but they hold no time."""
    cancelled = []
    for row in rng.sample(rows, int(len(rows) * CANCELLED_SHARE)):
        created = row.created_at
        cancelled.append(
            Appointment(
                client=rng.choice(clients),
                therapist=row.therapist,
                treatment=row.treatment,
                room=row.room,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                blocked_until=row.blocked_until,
                status=Appointment.Status.CANCELLED,
                created_at=created,
                updated_at=created,
                cancelled_at=min(now, created + datetime.timedelta(hours=rng.randint(1, 48))),
                cancellation_reason="Bench",
            )
        )
    return cancelled
