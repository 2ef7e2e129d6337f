"""Free times for a treatment, computed from plain values (no database, no clock).

The caller (appointments.queries) loads the schedule data in a fixed number of
queries and passes it here; tests build the values by hand.
"""

import datetime
import functools
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
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

    def with_busy(self, busy: Sequence[Interval]) -> "TherapistSchedule":
        """dataclasses.replace(self, busy=busy), without its cost: a calendar's rounds make
        hundreds a request, and replace() looks up every field by name for each."""
        return TherapistSchedule(
            self.therapist_id,
            self.weekly_hours,
            self.time_off,
            busy,
            self.qualified,
            self.qualified_until,
        )


@dataclass(frozen=True)
class RoomSchedule:
    room_id: int
    equipment: frozenset[int] = frozenset()
    in_service: bool = True
    # How much other treatments want this room (lower is taken first), so a plain
    # massage does not use up the room with overhead bars while another is free.
    demand: int = 0
    busy: Sequence[Interval] = ()  # blocked spans of active appointments in the room

    def with_busy(self, busy: Sequence[Interval]) -> "RoomSchedule":
        """dataclasses.replace(self, busy=busy), as TherapistSchedule.with_busy."""
        return RoomSchedule(self.room_id, self.equipment, self.in_service, self.demand, busy)


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
    among: Collection[datetime.datetime] | None = None,
) -> list[Slot]:
    """Every bookable (start, therapist, room) between first_day and last_day (local dates).
    `among`: only these starts are looked at (as in free_starts)."""
    search = _Search(
        treatment, therapists, rooms, first_day, last_day, now, tz, policy, client_busy
    )
    slots = []
    for day in _days(first_day, last_day):
        for start, teams in search.starts_of(day):
            if among is not None and start not in among:
                continue
            room_id = search.free_room(start)
            if room_id is None:
                continue
            free = sorted(
                therapist.therapist_id
                for team in teams
                for therapist in team
                if search.is_free(therapist, start)
            )
            slots += [search.slot(start, therapist_id, room_id) for therapist_id in free]
    return slots


def free_starts(
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
    first_of_day: bool = False,
    among: Collection[datetime.datetime] | None = None,
) -> list[Slot]:
    """Each start free_slots offers, once: its first slot (the free therapist with the lowest
    id, in the room free_slots gives them).

    It stops at the first fit, where free_slots goes on through every therapist: a page
    that lists free times, or days with free times, needs no more. `first_of_day`: only
    each day's first free start. `among`: only these starts are looked at (the caller
    has the busy times around them, not the whole days').
    """
    search = _Search(
        treatment, therapists, rooms, first_day, last_day, now, tz, policy, client_busy
    )
    slots = []
    for day in _days(first_day, last_day):
        for start, teams in search.starts_of(day):
            if among is not None and start not in among:
                continue
            slot = search.first_slot(start, teams)
            if slot is not None:
                slots.append(slot)
                if first_of_day:
                    break
    return slots


def candidate_starts(
    *,
    treatment: TreatmentSpec,
    first_day: datetime.date,
    last_day: datetime.date,
    therapists: Sequence[TherapistSchedule],
    now: datetime.datetime,
    tz: ZoneInfo,
    policy: BookingPolicy = BookingPolicy(),
) -> dict[datetime.date, list[datetime.datetime]]:
    """The starts each day's working hours, notice and horizon allow, busy or not, in order:
    every start free_slots can offer is among them. Days without any are left out."""
    search = _Search(treatment, therapists, (), first_day, last_day, now, tz, policy, ())
    candidates = {}
    for day in _days(first_day, last_day):
        starts = [start for start, _ in search.starts_of(day)]
        if starts:
            candidates[day] = starts
    return candidates


class _Search:
    """The rules of one search for free times: which starts the therapists' hours give
    (each computed once for all who share the hours), and who and which room is free then.

    Busy times are merged for a therapist or a room when it is first asked about: a search
    that stops at the first fit never merges the rest.
    """

    def __init__(
        self,
        treatment: TreatmentSpec,
        therapists: Sequence[TherapistSchedule],
        rooms: Sequence[RoomSchedule],
        first_day: datetime.date,
        last_day: datetime.date,
        now: datetime.datetime,
        tz: ZoneInfo,
        policy: BookingPolicy,
        client_busy: Sequence[Interval],
    ) -> None:
        if policy.step <= datetime.timedelta(0):
            raise ValueError("The booking step must be positive.")
        now = now.astimezone(UTC)
        self.treatment, self.tz, self.step = treatment, tz, policy.step
        self.earliest = max(now + policy.minimum_notice, _local_midnight(first_day, tz))
        self.latest = min(now + policy.horizon, _local_midnight(last_day + ONE_DAY, tz))
        self.blocked_length = treatment.duration + treatment.buffer
        # Only intervals that can touch a blocked span starting in [earliest, latest] matter;
        # the rest (weeks of other appointments) would only slow every lookup down.
        self.window = (self.earliest, self.latest + self.blocked_length)
        # Least-equipped first, so a plain massage leaves the room with overhead bars free
        # for back-walking.
        self.rooms = sorted(
            (room for room in rooms if room.in_service and treatment.equipment <= room.equipment),
            key=lambda room: (room.demand, len(room.equipment), room.room_id),
        )
        self.client = _BusySpans(client_busy, self.window)
        self._therapist_busy: dict[int, _BusySpans] = {}
        self._room_busy: dict[int, _BusySpans] = {}
        # weekday -> that day's blocks of hours -> the qualified therapists who work them,
        # by id: hundreds of therapists share a handful of shift patterns.
        self.teams: dict[int, dict[tuple, list[TherapistSchedule]]] = defaultdict(dict)
        for therapist in sorted(therapists, key=lambda therapist: therapist.therapist_id):
            if not therapist.qualified:
                continue
            for weekday, blocks in therapist.weekly_hours.items():
                if blocks:
                    key = tuple(sorted(blocks))
                    self.teams[weekday].setdefault(key, []).append(therapist)

    def starts_of(
        self, day: datetime.date
    ) -> list[tuple[datetime.datetime, list[list[TherapistSchedule]]]]:
        """The day's starts (in order) with the teams whose hours give each, between the
        earliest and latest start the notice and horizon allow."""
        teams_at: dict[datetime.datetime, list] = defaultdict(list)
        for blocks, team in self.teams[day.weekday()].items():
            qualified = [t for t in team if t.qualified_until is None or day <= t.qualified_until]
            if not qualified:
                continue
            for start in _day_starts(day, blocks, self.treatment.duration, self.step, self.tz):
                if self.earliest <= start <= self.latest:
                    teams_at[start].append(qualified)
        return sorted(teams_at.items())

    def first_slot(
        self, start: datetime.datetime, teams: list[list[TherapistSchedule]]
    ) -> Slot | None:
        """The start's slot with the free therapist of the lowest id, if anyone is free."""
        room_id = self.free_room(start)
        if room_id is None:
            return None
        firsts = (
            next((t.therapist_id for t in team if self.is_free(t, start)), None) for team in teams
        )
        therapist_id = min((found for found in firsts if found is not None), default=None)
        return None if therapist_id is None else self.slot(start, therapist_id, room_id)

    def slot(self, start: datetime.datetime, therapist_id: int, room_id: int) -> Slot:
        return Slot(start, start + self.treatment.duration, therapist_id, room_id)

    def free_room(self, start: datetime.datetime) -> int | None:
        """The first suitable room free for the start's blocked span, unless the client
        is busy then (no room helps: checked here, once for every therapist)."""
        end = start + self.blocked_length
        if self.client.overlaps(start, end):
            return None
        for room in self.rooms:
            spans = self._room_busy.get(room.room_id)
            if spans is None:
                spans = self._room_busy[room.room_id] = _BusySpans(room.busy, self.window)
            if not spans.overlaps(start, end):
                return room.room_id
        return None

    def is_free(self, therapist: TherapistSchedule, start: datetime.datetime) -> bool:
        """Neither busy nor off for the start's blocked span (the teams of starts_of hold
        only therapists qualified on the day)."""
        spans = self._therapist_busy.get(therapist.therapist_id)
        if spans is None:
            spans = _BusySpans([*therapist.busy, *therapist.time_off], self.window)
            self._therapist_busy[therapist.therapist_id] = spans
        return not spans.overlaps(start, start + self.blocked_length)


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


# Pure, and asked the same again and again (every calendar of every treatment walks the
# same days of the same few shift patterns): each answer is kept, the oldest dropped first.
@functools.lru_cache(maxsize=4096)
def _day_starts(
    day: datetime.date,
    blocks: tuple[tuple[datetime.time, datetime.time], ...],
    duration: datetime.timedelta,
    step: datetime.timedelta,
    tz: ZoneInfo,
) -> tuple[datetime.datetime, ...]:
    """UTC starts on the day's grid where the treatment fits inside a block of working hours."""
    # A set: nothing stops two blocks of working hours from overlapping, and a start offered
    # by both must still appear once.
    starts = set()
    for opens, closes in blocks:
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
    return tuple(sorted(starts))
