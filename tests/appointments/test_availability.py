"""Free times for a treatment: plain values in, slots out (no database, no Django)."""

import dataclasses
import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appointments.availability import (
    BookingPolicy,
    Interval,
    RoomSchedule,
    Slot,
    TherapistSchedule,
    TreatmentSpec,
    candidate_starts,
    free_slots,
    free_starts,
)

UTC = datetime.UTC
LONDON = ZoneInfo("Europe/London")
MONDAY = datetime.date(2026, 6, 1)
WEEK_BEFORE = datetime.datetime(2026, 5, 25, 9, tzinfo=UTC)
SPRING_FORWARD = datetime.date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST
AUTUMN_BACK = datetime.date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
BARS = 1  # equipment id: the overhead bars back-walking needs


def minutes(count: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=count)


MASSAGE = TreatmentSpec(duration=minutes(60), buffer=minutes(15))
BACK_WALKING = TreatmentSpec(duration=minutes(60), buffer=minutes(15), equipment=frozenset({BARS}))
PLAIN_ROOM = RoomSchedule(room_id=1)
DEFAULT_POLICY = BookingPolicy()  # 15-minute grid, 2 hours notice, 60 days ahead
BARS_ROOM = RoomSchedule(room_id=2, equipment=frozenset({BARS}))


def local(day: datetime.date, clock: str) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.fromisoformat(clock), tzinfo=LONDON)


def span(day: datetime.date, start: str, end: str) -> Interval:
    return Interval(local(day, start), local(day, end))


def every_day(*blocks: tuple[str, str]) -> dict[int, list[tuple[datetime.time, datetime.time]]]:
    hours = [(datetime.time.fromisoformat(a), datetime.time.fromisoformat(b)) for a, b in blocks]
    return {weekday: hours for weekday in range(7)}


def therapist(therapist_id: int = 1, hours=(("09:00", "17:00"),), **kwargs) -> TherapistSchedule:
    return TherapistSchedule(therapist_id=therapist_id, weekly_hours=every_day(*hours), **kwargs)


def find(
    *,
    treatment: TreatmentSpec = MASSAGE,
    day: datetime.date = MONDAY,
    last_day: datetime.date | None = None,
    therapists=None,
    rooms=(PLAIN_ROOM,),
    now: datetime.datetime = WEEK_BEFORE,
    policy: BookingPolicy = DEFAULT_POLICY,
    client_busy=(),
) -> list[Slot]:
    return free_slots(
        treatment=treatment,
        first_day=day,
        last_day=last_day or day,
        therapists=therapists if therapists is not None else [therapist()],
        rooms=rooms,
        now=now,
        tz=LONDON,
        policy=policy,
        client_busy=client_busy,
    )


def wall_clock(slots: list[Slot]) -> list[str]:
    return [f"{slot.start.astimezone(LONDON):%H:%M}" for slot in slots]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """Wall-clock times first, first + step, ..., last (inclusive) on an ordinary day."""
    start, end = local(MONDAY, first), local(MONDAY, last)
    count = (end - start) // minutes(step)
    return [f"{start + minutes(step) * i:%H:%M}" for i in range(count + 1)]


# The grid


def test_offers_every_step_from_block_start_while_the_treatment_still_fits():
    slots = find(therapists=[therapist(hours=[("09:00", "12:00")])])

    assert wall_clock(slots) == grid("09:00", "11:00")


def test_grid_is_anchored_at_the_block_start_and_follows_the_policy_step():
    slots = find(
        therapists=[therapist(hours=[("09:10", "11:10")])],
        policy=BookingPolicy(step=minutes(30)),
    )

    assert wall_clock(slots) == ["09:10", "09:40", "10:10"]


def test_slots_start_in_utc_and_last_the_treatment_without_its_buffer():
    slots = find(therapists=[therapist(hours=[("09:00", "10:00")])])

    assert slots == [
        Slot(
            start=datetime.datetime(2026, 6, 1, 8, 0, tzinfo=UTC),  # 09:00 BST
            end=datetime.datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
            therapist_id=1,
            room_id=1,
        )
    ]
    assert slots[0].start.tzinfo is UTC


def test_slots_are_sorted_by_start_then_therapist():
    slots = find(
        therapists=[
            therapist(2, hours=[("09:00", "10:15")]),
            therapist(1, hours=[("09:00", "10:15")]),
        ],
        rooms=[PLAIN_ROOM, RoomSchedule(room_id=3)],
    )

    assert [(f"{s.start.astimezone(LONDON):%H:%M}", s.therapist_id) for s in slots] == [
        ("09:00", 1),
        ("09:00", 2),
        ("09:15", 1),
        ("09:15", 2),
    ]


def test_rejects_a_step_that_is_not_positive():
    with pytest.raises(ValueError, match="step"):
        find(policy=BookingPolicy(step=datetime.timedelta(0)))


# Buffers and busy therapists


def test_slot_right_after_previous_appointments_buffer_is_offered():
    # The previous appointment runs 10:00-11:00; its 15-minute buffer ends at 11:15.
    busy = [span(MONDAY, "10:00", "11:15")]

    slots = find(therapists=[therapist(hours=[("10:00", "13:00")], busy=busy)])

    assert wall_clock(slots)[0] == "11:15"


def test_slot_never_overlaps_buffer_of_previous_appointment():
    busy = [span(MONDAY, "10:00", "11:15")]

    slots = find(therapists=[therapist(hours=[("09:00", "13:00")], busy=busy)])

    # 09:00 would still be in the room at 10:15 (treatment plus its own buffer).
    assert wall_clock(slots) == grid("11:15", "12:00")


def test_new_slots_own_buffer_must_not_run_into_the_next_appointment():
    busy = [span(MONDAY, "11:00", "12:15")]

    slots = find(therapists=[therapist(hours=[("09:00", "12:15")], busy=busy)])

    # 09:45 ends at 10:45 and its buffer at 11:00, touching the next appointment; 10:00 is free
    # as a treatment (10:00-11:00) but its buffer would run into it.
    assert wall_clock(slots) == grid("09:00", "09:45")


def test_time_off_blocks_slots():
    time_off = [span(MONDAY, "09:00", "12:00")]

    slots = find(therapists=[therapist(hours=[("09:00", "13:00")], time_off=time_off)])

    assert wall_clock(slots) == ["12:00"]


def test_split_shift_offers_nothing_in_the_gap_or_across_it():
    shifts = [("09:00", "12:00"), ("14:00", "17:00")]

    slots = find(therapists=[therapist(hours=shifts)])

    # 11:15 would fit in real time only by running into the unpaid lunch gap.
    assert wall_clock(slots) == grid("09:00", "11:00") + grid("14:00", "16:00")


# Notice and horizon


def test_slots_start_no_sooner_than_the_minimum_notice():
    policy = BookingPolicy(minimum_notice=datetime.timedelta(hours=2))

    assert wall_clock(find(now=local(MONDAY, "08:50"), policy=policy))[0] == "11:00"
    # Exactly at the notice is fine.
    assert wall_clock(find(now=local(MONDAY, "08:00"), policy=policy))[0] == "10:00"


def test_slots_start_no_later_than_the_horizon():
    policy = BookingPolicy(minimum_notice=minutes(0), horizon=datetime.timedelta(hours=5))

    slots = find(
        now=local(MONDAY, "07:00"),
        policy=policy,
        last_day=MONDAY + datetime.timedelta(days=1),
    )

    assert wall_clock(slots) == grid("09:00", "12:00")
    assert {slot.start.astimezone(LONDON).date() for slot in slots} == {MONDAY}


# Rooms


def test_room_without_the_bars_is_never_used_for_back_walking():
    slots = find(treatment=BACK_WALKING, rooms=[PLAIN_ROOM, BARS_ROOM])

    assert slots
    assert {slot.room_id for slot in slots} == {BARS_ROOM.room_id}


def test_no_room_with_the_bars_means_no_back_walking_slots():
    assert find(treatment=BACK_WALKING, rooms=[PLAIN_ROOM]) == []


def test_room_out_of_service_is_not_used():
    closed = RoomSchedule(room_id=1, in_service=False)

    assert {slot.room_id for slot in find(rooms=[closed, BARS_ROOM])} == {BARS_ROOM.room_id}
    assert find(rooms=[closed]) == []


def test_room_busy_with_another_therapists_appointment_is_not_offered():
    room = RoomSchedule(room_id=1, busy=[span(MONDAY, "10:00", "11:15")])

    slots = find(therapists=[therapist(hours=[("09:00", "13:00")])], rooms=[room])

    assert wall_clock(slots) == grid("11:15", "12:00")


def test_prefers_the_least_equipped_free_room():
    rooms = [
        RoomSchedule(room_id=1, equipment=frozenset({BARS, 2})),
        RoomSchedule(room_id=3),
        RoomSchedule(room_id=4, equipment=frozenset({2})),
        RoomSchedule(room_id=2),
    ]

    slots = find(rooms=rooms)

    # Rooms 2 and 3 are equally plain; the lower id wins.
    assert {slot.room_id for slot in slots} == {2}


def test_takes_the_equipped_room_while_the_plain_one_is_busy():
    plain = RoomSchedule(room_id=1, busy=[span(MONDAY, "09:00", "10:15")])

    slots = find(therapists=[therapist(hours=[("09:00", "12:00")])], rooms=[BARS_ROOM, plain])

    rooms_by_start = {f"{s.start.astimezone(LONDON):%H:%M}": s.room_id for s in slots}
    assert rooms_by_start["09:00"] == BARS_ROOM.room_id
    assert rooms_by_start["10:00"] == BARS_ROOM.room_id
    assert rooms_by_start["10:15"] == plain.room_id


# The client


def test_clients_own_appointment_blocks_the_slot_with_every_therapist():
    # The client is already booked 10:00-11:00 (plus buffer) with someone else.
    clients_appointment = [span(MONDAY, "10:00", "11:15")]

    slots = find(
        therapists=[
            therapist(1, hours=[("09:00", "13:00")]),
            therapist(2, hours=[("09:00", "13:00")]),
        ],
        rooms=[PLAIN_ROOM, BARS_ROOM],
        client_busy=clients_appointment,
    )

    assert sorted(set(wall_clock(slots))) == grid("11:15", "12:00")
    assert {slot.therapist_id for slot in slots} == {1, 2}


# Qualifications


def test_therapist_without_the_qualification_is_not_offered():
    slots = find(
        therapists=[therapist(1), therapist(2, qualified=False)],
        rooms=[PLAIN_ROOM, BARS_ROOM],
    )

    assert slots
    assert {slot.therapist_id for slot in slots} == {1}


def test_qualification_is_valid_on_its_expiry_day_but_not_after():
    slots = find(
        therapists=[therapist(qualified_until=MONDAY)],
        last_day=MONDAY + datetime.timedelta(days=2),
    )

    assert slots
    assert {slot.start.astimezone(LONDON).date() for slot in slots} == {MONDAY}


# Daylight saving time in London


def test_spring_forward_day_slots_are_right_in_utc():
    before = SPRING_FORWARD - datetime.timedelta(days=7)
    now = datetime.datetime(2026, 3, 1, tzinfo=UTC)

    slots = find(day=SPRING_FORWARD, now=now)

    assert slots[0].start == datetime.datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert slots[-1].start == datetime.datetime(2026, 3, 29, 15, 0, tzinfo=UTC)  # 16:00 BST
    assert slots[-1].end == datetime.datetime(2026, 3, 29, 16, 0, tzinfo=UTC)  # 17:00 BST
    # The day is an hour short, but a 09:00-17:00 block is still eight real hours.
    assert len(slots) == len(find(day=before, now=now)) == 29


def test_autumn_back_day_slots_are_right_in_utc_and_not_duplicated():
    before = AUTUMN_BACK - datetime.timedelta(days=7)
    now = datetime.datetime(2026, 10, 1, tzinfo=UTC)

    slots = find(day=AUTUMN_BACK, now=now)

    assert slots[0].start == datetime.datetime(2026, 10, 25, 9, 0, tzinfo=UTC)  # 09:00 GMT
    assert slots[-1].start == datetime.datetime(2026, 10, 25, 16, 0, tzinfo=UTC)
    assert len(slots) == len(find(day=before, now=now)) == 29
    assert len({slot.start for slot in slots}) == len(slots)


def test_starts_skipped_by_the_clocks_going_forward_are_not_offered():
    night = therapist(hours=[("00:00", "04:00")])
    treatment = TreatmentSpec(duration=minutes(30), buffer=minutes(0))

    slots = find(
        treatment=treatment,
        day=SPRING_FORWARD,
        therapists=[night],
        now=datetime.datetime(2026, 3, 1, tzinfo=UTC),
    )

    # 01:00-01:59 does not exist that night; 00:45 GMT and 02:00 BST are a quarter apart.
    assert wall_clock(slots) == grid("00:00", "00:45") + grid("02:00", "03:30")
    assert [slot.start for slot in slots] == [
        datetime.datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + minutes(15) * i for i in range(11)
    ]


def test_starts_repeated_by_the_clocks_going_back_are_offered_once():
    night = therapist(hours=[("00:00", "04:00")])
    treatment = TreatmentSpec(duration=minutes(30), buffer=minutes(0))

    slots = find(
        treatment=treatment,
        day=AUTUMN_BACK,
        therapists=[night],
        now=datetime.datetime(2026, 10, 1, tzinfo=UTC),
    )

    # 01:00-01:59 happens twice; only its first (BST) occurrence is on the grid.
    assert wall_clock(slots) == grid("00:00", "03:30")
    assert slots[0].start == datetime.datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert [f"{s.start:%H:%M}" for s in slots[7:9]] == ["00:45", "02:00"]


def test_start_skipped_by_the_clocks_is_not_moved_onto_the_next_hour():
    night = therapist(hours=[("00:00", "04:00")])
    treatment = TreatmentSpec(duration=minutes(30), buffer=minutes(0))

    slots = find(
        treatment=treatment,
        day=SPRING_FORWARD,
        therapists=[night],
        now=datetime.datetime(2026, 3, 1, tzinfo=UTC),
        policy=BookingPolicy(step=minutes(45)),
    )

    # 01:30 does not exist; read naively it would become 02:30 BST, which is off the grid.
    assert wall_clock(slots) == ["00:00", "00:45", "02:15", "03:00"]


def test_treatment_must_end_by_closing_time_in_real_time_when_clocks_go_forward():
    # 00:00 GMT to 02:30 BST is only an hour and a half.
    night = therapist(hours=[("00:00", "02:30")])

    slots = find(
        day=SPRING_FORWARD,
        therapists=[night],
        now=datetime.datetime(2026, 3, 1, tzinfo=UTC),
    )

    # 00:45 GMT plus an hour is 02:45 BST, after closing.
    assert wall_clock(slots) == ["00:00", "00:15", "00:30"]


def test_treatment_may_end_in_the_repeated_hour_when_clocks_go_back():
    # 00:00 BST to 02:00 GMT is three real hours.
    night = therapist(hours=[("00:00", "02:00")])

    slots = find(
        day=AUTUMN_BACK,
        therapists=[night],
        now=datetime.datetime(2026, 10, 1, tzinfo=UTC),
    )

    # 01:45 BST plus an hour is 01:45 GMT, before closing.
    assert wall_clock(slots) == grid("00:00", "01:45")


# Properties over random schedules

# London moves by an hour at 01:00 UTC, Havana at local midnight, Lord Howe by half an hour.
CLOCK_CHANGES = {
    "Europe/London": [SPRING_FORWARD, AUTUMN_BACK],
    "America/Havana": [datetime.date(2026, 3, 8), datetime.date(2026, 11, 1)],
    "Australia/Lord_Howe": [datetime.date(2026, 4, 5), datetime.date(2026, 10, 4)],
}
ZONES = [ZoneInfo(key) for key in CLOCK_CHANGES]


def five_minutes(low: int, high: int) -> st.SearchStrategy[datetime.timedelta]:
    """Multiples of five minutes, so touching intervals and grid times coincide often."""
    return st.integers(low // 5, high // 5).map(lambda count: minutes(5 * count))


def intervals_near(origin: datetime.datetime) -> st.SearchStrategy[list[Interval]]:
    spans = st.tuples(five_minutes(-24 * 60, 4 * 24 * 60), five_minutes(5, 6 * 60))
    return st.lists(
        spans.map(lambda pair: Interval(origin + pair[0], origin + pair[0] + pair[1])),
        max_size=8,
    )


@st.composite
def working_blocks(draw) -> tuple[datetime.time, datetime.time]:
    opens = draw(st.integers(0, 286)) * 5  # minute of the day, 23:50 at the latest
    closes = min(opens + draw(st.integers(1, 120)) * 5, 23 * 60 + 55)
    return datetime.time(opens // 60, opens % 60), datetime.time(closes // 60, closes % 60)


@st.composite
def schedules(draw) -> dict:
    tz = draw(st.sampled_from(ZONES))
    # Often on or just before a daylight-saving change of the zone, so nights cross it.
    if draw(st.booleans()):
        change = draw(st.sampled_from(CLOCK_CHANGES[tz.key]))
        first_day = change - datetime.timedelta(days=draw(st.integers(0, 1)))
    else:
        first_day = draw(st.dates(datetime.date(2026, 3, 1), datetime.date(2026, 11, 5)))
    last_day = first_day + datetime.timedelta(days=draw(st.integers(0, 2)))
    origin = datetime.datetime.combine(first_day, datetime.time(), tzinfo=tz).astimezone(UTC)
    therapists = [
        TherapistSchedule(
            therapist_id=therapist_id,
            weekly_hours=draw(
                st.dictionaries(st.integers(0, 6), st.lists(working_blocks(), max_size=3))
            ),
            time_off=draw(intervals_near(origin)),
            busy=draw(intervals_near(origin)),
            qualified=draw(st.sampled_from([True, True, True, False])),
            qualified_until=draw(
                st.none() | st.dates(first_day - datetime.timedelta(days=1), last_day)
            ),
        )
        for therapist_id in range(1, draw(st.integers(1, 3)) + 1)
    ]
    rooms = [
        RoomSchedule(
            room_id=room_id,
            equipment=draw(st.frozensets(st.integers(1, 3))),
            in_service=draw(st.sampled_from([True, True, True, False])),
            busy=draw(intervals_near(origin)),
        )
        for room_id in range(1, draw(st.integers(0, 3)) + 1)
    ]
    return {
        "treatment": TreatmentSpec(
            duration=draw(five_minutes(5, 180)),
            buffer=draw(five_minutes(0, 30)),
            equipment=draw(st.frozensets(st.integers(1, 3), max_size=2)),
        ),
        "first_day": first_day,
        "last_day": last_day,
        "therapists": therapists,
        "rooms": rooms,
        "now": origin + draw(five_minutes(-2 * 24 * 60, 2 * 24 * 60)),
        "tz": tz,
        "policy": BookingPolicy(
            step=draw(st.sampled_from([minutes(n) for n in (5, 10, 15, 20, 30, 45)])),
            minimum_notice=draw(five_minutes(0, 6 * 60)),
            horizon=draw(five_minutes(0, 5 * 24 * 60)),
        ),
        "client_busy": draw(intervals_near(origin)),
    }


def overlaps(start: datetime.datetime, end: datetime.datetime, intervals) -> bool:
    return any(start < interval.end and interval.start < end for interval in intervals)


def minute_of_day(clock: datetime.time) -> int:
    return clock.hour * 60 + clock.minute


@settings(max_examples=200, deadline=None)
@given(schedules())
def test_every_offered_slot_is_bookable(schedule):
    slots = free_slots(**schedule)

    treatment, tz, policy, now = (schedule[k] for k in ("treatment", "tz", "policy", "now"))
    therapists = {t.therapist_id: t for t in schedule["therapists"]}
    rooms = {r.room_id: r for r in schedule["rooms"]}
    for slot in slots:
        therapist, room = therapists[slot.therapist_id], rooms[slot.room_id]
        wall = slot.start.astimezone(tz)
        day = wall.date()
        assert slot.start.tzinfo is UTC
        assert slot.end == slot.start + treatment.duration
        assert schedule["first_day"] <= day <= schedule["last_day"]
        assert therapist.qualified
        assert therapist.qualified_until is None or day <= therapist.qualified_until
        assert any(
            opens <= wall.time() < closes
            and (minute_of_day(wall.time()) - minute_of_day(opens)) % (policy.step // minutes(1))
            == 0
            and slot.end <= datetime.datetime.combine(day, closes, tzinfo=tz)
            for opens, closes in therapist.weekly_hours.get(day.weekday(), ())
        )
        blocked_end = slot.end + treatment.buffer
        assert not overlaps(slot.start, blocked_end, therapist.busy)
        assert not overlaps(slot.start, blocked_end, therapist.time_off)
        assert not overlaps(slot.start, blocked_end, schedule["client_busy"])
        assert not overlaps(slot.start, blocked_end, room.busy)
        assert now + policy.minimum_notice <= slot.start <= now + policy.horizon
        assert room.in_service
        assert treatment.equipment <= room.equipment
    assert len({(slot.start, slot.therapist_id) for slot in slots}) == len(slots)
    assert slots == sorted(slots, key=lambda slot: (slot.start, slot.therapist_id))


def brute_force(*, treatment, first_day, last_day, therapists, rooms, now, tz, policy, client_busy):
    """The same rules, checked naively: every grid time against every interval."""
    found = set()
    step = policy.step // minutes(1)
    for therapist in therapists:
        day = first_day
        while day <= last_day:
            for opens, closes in therapist.weekly_hours.get(day.weekday(), ()):
                for minute in range(minute_of_day(opens), minute_of_day(closes), step):
                    clock = datetime.time(minute // 60, minute % 60)
                    wall = datetime.datetime.combine(day, clock, tzinfo=tz)
                    # In a spring-forward gap the earlier reading (fold=0) has the smaller offset.
                    if wall.utcoffset() < wall.replace(fold=1).utcoffset():
                        continue
                    start = wall.astimezone(UTC)
                    end = start + treatment.duration
                    blocked_end = end + treatment.buffer
                    free_rooms = [
                        room
                        for room in rooms
                        if room.in_service
                        and treatment.equipment <= room.equipment
                        and not overlaps(start, blocked_end, room.busy)
                    ]
                    if (
                        therapist.qualified
                        and (therapist.qualified_until is None or day <= therapist.qualified_until)
                        and end <= datetime.datetime.combine(day, closes, tzinfo=tz)
                        and now + policy.minimum_notice <= start <= now + policy.horizon
                        and not overlaps(start, blocked_end, therapist.busy)
                        and not overlaps(start, blocked_end, therapist.time_off)
                        and not overlaps(start, blocked_end, client_busy)
                        and free_rooms
                    ):
                        room = min(free_rooms, key=lambda r: (len(r.equipment), r.room_id))
                        found.add(Slot(start, end, therapist.therapist_id, room.room_id))
            day += datetime.timedelta(days=1)
    return sorted(found, key=lambda slot: (slot.start, slot.therapist_id))


@settings(max_examples=200, deadline=None)
@given(schedules())
def test_offers_exactly_the_slots_a_brute_force_search_finds(schedule):
    # Slot equality ignores room_id (compare=False), so rooms are compared separately.
    slots = free_slots(**schedule)
    expected = brute_force(**schedule)

    assert slots == expected
    assert [slot.room_id for slot in slots] == [slot.room_id for slot in expected]


# Stopping at the first fit (free_starts, candidate_starts): the same free times as
# free_slots, found with less work. Pages that list times or days use them.


def first_slot_of_each_start(slots: list[Slot]) -> list[Slot]:
    """free_slots' answer, one slot a start: the first (lowest therapist id)."""
    firsts: dict[datetime.datetime, Slot] = {}
    for slot in slots:
        firsts.setdefault(slot.start, slot)
    return list(firsts.values())


def local_day(slot: Slot, tz: ZoneInfo) -> datetime.date:
    return slot.start.astimezone(tz).date()


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_free_starts_give_each_start_free_slots_offers_once_with_its_first_slot(schedule):
    expected = first_slot_of_each_start(free_slots(**schedule))

    found = free_starts(**schedule)

    assert found == expected
    assert [slot.room_id for slot in found] == [slot.room_id for slot in expected]


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_the_first_free_start_of_each_day_marks_exactly_the_days_free_slots_offers(schedule):
    tz = schedule["tz"]
    every_start = first_slot_of_each_start(free_slots(**schedule))
    first_of_each_day = [
        slot
        for index, slot in enumerate(every_start)
        if index == 0 or local_day(every_start[index - 1], tz) != local_day(slot, tz)
    ]

    firsts = free_starts(**schedule, first_of_day=True)

    assert firsts == first_of_each_day
    assert {local_day(slot, tz) for slot in firsts} == {
        local_day(slot, tz) for slot in free_slots(**schedule)
    }


@settings(max_examples=300, deadline=None)
@given(schedules(), st.data())
def test_looking_only_at_some_candidates_finds_the_free_times_among_them(schedule, data):
    candidates = candidate_starts(
        **{
            name: schedule[name]
            for name in ("treatment", "first_day", "last_day", "therapists", "now", "tz", "policy")
        }
    )
    every_candidate = [start for starts in candidates.values() for start in starts]
    everything = free_starts(**schedule)
    # Every free start is a candidate, and each day's candidates come in order.
    assert {slot.start for slot in everything} <= set(every_candidate)
    assert all(starts == sorted(starts) for starts in candidates.values())
    assert all(
        start.astimezone(schedule["tz"]).date() == day
        for day, starts in candidates.items()
        for start in starts
    )
    among = set(data.draw(st.lists(st.sampled_from(every_candidate))) if every_candidate else [])

    assert free_starts(**schedule, among=among) == [
        slot for slot in everything if slot.start in among
    ]
    assert free_slots(**schedule, among=among) == [
        slot for slot in free_slots(**schedule) if slot.start in among
    ]


def test_with_busy_is_dataclasses_replace_of_the_busy_times():
    """Written out field by field for speed: a field added to a schedule must be added
    there too, or this fails."""
    busy = [span(MONDAY, "09:00", "10:00")]
    therapist = TherapistSchedule(
        therapist_id=7,
        weekly_hours={0: [(datetime.time(9), datetime.time(17))]},
        time_off=[span(MONDAY, "12:00", "13:00")],
        busy=[span(MONDAY, "14:00", "15:00")],
        qualified=False,
        qualified_until=datetime.date(2030, 1, 1),
    )
    room = RoomSchedule(
        room_id=3,
        equipment=frozenset({1}),
        in_service=False,
        demand=2,
        busy=[span(MONDAY, "14:00", "15:00")],
    )

    assert therapist.with_busy(busy) == dataclasses.replace(therapist, busy=busy)
    assert room.with_busy(busy) == dataclasses.replace(room, busy=busy)
    # Every field was given a value other than its default above.
    for schedule in (therapist, room):
        assert all(
            getattr(schedule, field.name) != field.default for field in dataclasses.fields(schedule)
        )
