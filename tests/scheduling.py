"""Open spas for booking tests: one treatment, therapists, rooms, known hours."""

import datetime
from dataclasses import dataclass, field

from appointments.models import Qualification, Room, Therapist, Treatment, WorkingHours
from clients.models import Client
from tests.factories import (
    ClientFactory,
    EquipmentFactory,
    RoomFactory,
    TherapistFactory,
    TreatmentFactory,
)

# Tuesday 1 December 2026, 08:00 in London (UTC in winter): "now" in most tests.
NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)
TOMORROW = datetime.date(2026, 12, 2)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A London wall-clock time in winter, which is UTC."""
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=datetime.UTC)


@dataclass
class Spa:
    treatment: Treatment
    therapists: list[Therapist] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)

    @property
    def therapist(self) -> Therapist:
        return self.therapists[0]

    @property
    def room(self) -> Room:
        return self.rooms[0]


def work(therapist: Therapist, start: str = "09:00", end: str = "17:00", days=range(7)) -> None:
    WorkingHours.objects.bulk_create(
        WorkingHours(
            therapist=therapist,
            weekday=day,
            starts_at=datetime.time.fromisoformat(start),
            ends_at=datetime.time.fromisoformat(end),
        )
        for day in days
    )


def open_spa(
    *,
    therapists: int = 1,
    rooms: int = 1,
    duration: int = 60,
    buffer: int = 15,
    back_walking: bool = False,
    name: str = "Swedish massage",
) -> Spa:
    """Therapists working 09:00-17:00 every day, qualified; rooms with the equipment."""
    bars = EquipmentFactory(name="Overhead bars")
    treatment = TreatmentFactory(
        name=name, duration_minutes=duration, buffer_minutes=buffer, is_back_walking=back_walking
    )
    treatment.equipment.add(bars)
    spa = Spa(treatment=treatment)
    for _ in range(rooms):
        room = RoomFactory()
        room.equipment.add(bars)
        spa.rooms.append(room)
    for _ in range(therapists):
        therapist = TherapistFactory()
        Qualification.objects.create(therapist=therapist, treatment=treatment)
        work(therapist)
        spa.therapists.append(therapist)
    return spa


def open_spa_around_the_clock(
    *, therapists: int, clients: int, equipped_rooms: int, plain_rooms: int = 0
) -> Spa:
    """For the race tests: qualified therapists working around the clock every day, clients,
    and rooms with and without the equipment the treatment needs (`rooms` holds only the
    equipped ones)."""
    stones = EquipmentFactory(name="Stone heater")
    treatment = TreatmentFactory(name="Hot stone massage", is_back_walking=False)
    treatment.equipment.add(stones)
    rooms = RoomFactory.create_batch(equipped_rooms)
    for room in rooms:
        room.equipment.add(stones)
    # Rooms without the equipment must never be picked, or the one-room race would not be one.
    RoomFactory.create_batch(plain_rooms)
    staff = TherapistFactory.create_batch(therapists)
    Qualification.objects.bulk_create(
        Qualification(therapist=therapist, treatment=treatment) for therapist in staff
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(
            therapist=therapist,
            weekday=weekday,
            starts_at=datetime.time(0, 0),
            ends_at=datetime.time(23, 59),
        )
        for therapist in staff
        for weekday in WorkingHours.Weekday.values
    )
    return Spa(
        treatment=treatment,
        therapists=staff,
        clients=ClientFactory.create_batch(clients),
        rooms=rooms,
    )
