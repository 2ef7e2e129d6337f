"""Free times for a treatment, computed from plain values (no database, no clock).

The caller (appointments.queries) loads the schedule data in a fixed number of
queries and passes it here; tests build the values by hand.
"""

import datetime
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = datetime.UTC
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Interval:
    """A half-open span of time [start, end), both aware datetimes."""

    start: datetime.datetime
    end: datetime.datetime


@dataclass(frozen=True)
class TreatmentSpec:
    duration: datetime.timedelta
    buffer: datetime.timedelta  # blocked after the treatment, for therapist and room alike
    equipment: frozenset[int] = frozenset()  # ids of the equipment a room must have


@dataclass(frozen=True)
class TherapistSchedule:
    therapist_id: int
    # weekday (Monday = 0) -> blocks of (start, end) local wall-clock times; several per day allowed
    weekly_hours: Mapping[int, Sequence[tuple[datetime.time, datetime.time]]]
    time_off: Sequence[Interval] = ()
    busy: Sequence[Interval] = ()  # blocked spans of their active appointments (buffer included)
    qualified: bool = True  # holds a qualification for the treatment at all
    qualified_until: datetime.date | None = None  # last valid day; None = never expires


@dataclass(frozen=True)
class RoomSchedule:
    room_id: int
    equipment: frozenset[int] = frozenset()
    in_service: bool = True
    # How much other treatments want this room (lower is taken first), so a plain
    # massage does not use up the room with overhead bars while another is free.
    demand: int = 0
    busy: Sequence[Interval] = ()  # blocked spans of active appointments in the room


@dataclass(frozen=True)
class BookingPolicy:
    step: datetime.timedelta = datetime.timedelta(minutes=15)
    minimum_notice: datetime.timedelta = datetime.timedelta(hours=2)
    horizon: datetime.timedelta = datetime.timedelta(days=60)


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime.datetime  # aware, UTC
    end: datetime.datetime  # start + duration (the buffer is not part of the slot)
    therapist_id: int
    room_id: int = field(compare=False)


def free_slots(
    *,
    treatment: TreatmentSpec,
    first_day: datetime.date,
    last_day: datetime.date,
    therapists: Sequence[TherapistSchedule],
    rooms: Sequence[RoomSchedule],
    now: datetime.datetime,
    tz: ZoneInfo,
    policy: BookingPolicy = BookingPolicy(),
    client_busy: Sequence[Interval] = (),
) -> list[Slot]:
    """Every bookable (start, therapist, room) between first_day and last_day (local dates)."""
    if policy.step <= datetime.timedelta(0):
        raise ValueError("The booking step must be positive.")
    now = now.astimezone(UTC)
    earliest = max(now + policy.minimum_notice, _local_midnight(first_day, tz))
    latest = min(now + policy.horizon, _local_midnight(last_day + ONE_DAY, tz))
    blocked_length = treatment.duration + treatment.buffer
    # Only intervals that can touch a blocked span starting in [earliest, latest] matter; the
    # rest (weeks of other appointments) would only slow every lookup down.
    window = (earliest, latest + blocked_length)

    # Least-equipped first, so a plain massage leaves the room with overhead bars free for
    # back-walking.
    suitable_rooms = sorted(
        (room for room in rooms if room.in_service and treatment.equipment <= room.equipment),
        key=lambda room: (room.demand, len(room.equipment), room.room_id),
    )
    room_busy = [(room.room_id, _BusySpans(room.busy, window)) for room in suitable_rooms]

    slots = []
    for therapist in therapists:
        if not therapist.qualified:
            continue
        busy = _BusySpans([*therapist.busy, *therapist.time_off, *client_busy], window)
        final_day = last_day
        if therapist.qualified_until is not None:
            final_day = min(last_day, therapist.qualified_until)
        for day in _days(first_day, final_day):
            for start in _day_starts(day, therapist, treatment.duration, policy.step, tz):
                if not earliest <= start <= latest:
                    continue
                blocked_end = start + blocked_length
                if busy.overlaps(start, blocked_end):
                    continue
                room_id = next(
                    (rid for rid, spans in room_busy if not spans.overlaps(start, blocked_end)),
                    None,
                )
                if room_id is not None:
                    slots.append(
                        Slot(start, start + treatment.duration, therapist.therapist_id, room_id)
                    )
    slots.sort(key=lambda slot: (slot.start, slot.therapist_id))
    return slots


class _BusySpans:
    """Busy intervals merged into sorted, disjoint spans, so one bisect answers an overlap query.

    Benchmarks give each therapist hundreds of appointments; scanning them all for every
    candidate start would be quadratic.
    """

    def __init__(
        self, intervals: Iterable[Interval], window: tuple[datetime.datetime, datetime.datetime]
    ) -> None:
        low, high = window
        spans = sorted(
            (interval.start.astimezone(UTC), interval.end.astimezone(UTC))
            for interval in intervals
            if interval.end > low and interval.start < high
        )
        self.starts: list[datetime.datetime] = []
        self.ends: list[datetime.datetime] = []
        for start, end in spans:
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def overlaps(self, start: datetime.datetime, end: datetime.datetime) -> bool:
        """Whether [start, end) overlaps a span; touching a span's end or start is fine."""
        # Merged spans are disjoint, so ends are sorted too: the first span ending after
        # `start` is the only one that can overlap.
        index = bisect_right(self.ends, start)
        return index < len(self.starts) and self.starts[index] < end


def _local_midnight(day: datetime.date, tz: ZoneInfo) -> datetime.datetime:
    # Where the clocks skip midnight (Havana), fold=0 still lands on the day's first instant.
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz).astimezone(UTC)


def _days(first_day: datetime.date, last_day: datetime.date) -> Iterator[datetime.date]:
    day = first_day
    while day <= last_day:
        yield day
        day += ONE_DAY


def _day_starts(
    day: datetime.date,
    therapist: TherapistSchedule,
    duration: datetime.timedelta,
    step: datetime.timedelta,
    tz: ZoneInfo,
) -> list[datetime.datetime]:
    """UTC starts on the day's grid where the treatment fits inside a block of working hours."""
    # A set: nothing stops two blocks of working hours from overlapping, and a start offered
    # by both must still appear once.
    starts = set()
    for opens, closes in therapist.weekly_hours.get(day.weekday(), ()):
        # Aware datetimes sharing one tzinfo add and compare in wall-clock terms, which is what
        # the grid is: 09:00, 09:15, ... even on a daylight-saving day. combine() gives fold=0,
        # the first of two ambiguous times in the autumn.
        wall = datetime.datetime.combine(day, opens, tzinfo=tz)
        closing_wall = datetime.datetime.combine(day, closes, tzinfo=tz)
        closing = closing_wall.astimezone(UTC)
        while wall < closing_wall:
            start = wall.astimezone(UTC)
            # A time skipped when the clocks go forward does not survive the round trip.
            exists = start.astimezone(tz).time() == wall.time()
            # Durations are real time, so the end is computed in UTC.
            if exists and start + duration <= closing:
                starts.add(start)
            wall += step
    return sorted(starts)
