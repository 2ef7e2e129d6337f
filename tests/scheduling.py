"""A small open spa for booking tests: one treatment, therapists, rooms, known hours."""

import datetime
from dataclasses import dataclass, field

from appointments.models import Qualification, Room, Therapist, Treatment, WorkingHours
from tests.factories import EquipmentFactory, RoomFactory, TherapistFactory, TreatmentFactory

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
