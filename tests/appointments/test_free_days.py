"""The calendar's days and a day's times, found by stopping at the first fit, are exactly
what the full computation (free_times.free_slots) finds, over varied spas in PostgreSQL.

tests/appointments/test_availability.py proves it for the pure functions; here the loader
is in it too: the rounds that read busy times only around the starts looked at, the
windows of those reads, a therapist picked, a client's own appointments, and an
appointment being moved.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from appointments import free_times
from appointments.models import Appointment, Qualification, TimeOff, WorkingHours
from tests.factories import (
    ClientFactory,
    EquipmentFactory,
    RoomFactory,
    TherapistFactory,
    TreatmentFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Around the clocks going back (25 October 2026) and a plain winter week.
FIRST_DAYS = [datetime.date(2026, 10, 23), datetime.date(2026, 12, 1)]


def minutes(count: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=count)


def local(day: datetime.date, minute: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=LONDON) + minutes(minute)


@st.composite
def blocks(draw) -> tuple[datetime.time, datetime.time]:
    opens = draw(st.integers(6 * 12, 20 * 12)) * 5  # a minute of the day, 06:00 to 20:00
    closes = min(opens + draw(st.integers(6, 8 * 12)) * 5, 23 * 60 + 55)
    return datetime.time(opens // 60, opens % 60), datetime.time(closes // 60, closes % 60)


@st.composite
def spas(draw) -> dict:
    """A spa as numbers: made into rows by build()."""
    first_day = draw(st.sampled_from(FIRST_DAYS)) + datetime.timedelta(days=draw(st.integers(0, 3)))
    days = draw(st.integers(1, 9))
    therapists = [
        {
            "hours": {
                weekday: draw(blocks())
                for weekday in draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))
            },
            "expires_after": draw(st.none() | st.integers(-1, days)),
            "active": draw(st.sampled_from([True, True, True, True, False])),
            "time_off": draw(
                st.lists(st.tuples(st.integers(0, days * 24 * 12), st.integers(1, 200)), max_size=2)
            ),
        }
        for _ in range(draw(st.integers(1, 4)))
    ]
    rooms = [
        {
            "bars": draw(st.booleans()),
            "in_service": draw(st.sampled_from([True, True, True, False])),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    # Appointments every so often across the days (some cancelled), on a 5-minute grid;
    # those that would overlap another are left out, as PostgreSQL would refuse them.
    appointments = draw(
        st.lists(
            st.tuples(
                st.integers(-12 * 12, days * 24 * 12),  # five-minute steps from the first day
                st.integers(0, len(therapists) - 1),
                st.integers(0, len(rooms) - 1),
                st.integers(0, 2),  # which client: 0 is the one looking
                st.sampled_from(["confirmed", "confirmed", "completed", "cancelled"]),
            ),
            max_size=60,
        )
    )
    return {
        "first_day": first_day,
        "last_day": first_day + datetime.timedelta(days=days - 1),
        "duration": draw(st.sampled_from([30, 45, 60, 90])),
        "buffer": draw(st.sampled_from([0, 10, 15])),
        "needs_bars": draw(st.booleans()),
        "therapists": therapists,
        "rooms": rooms,
        "appointments": appointments,
        "now": local(first_day, draw(st.integers(-24 * 12, 24 * 12)) * 5),
        "pick_therapist": draw(st.none() | st.integers(0, len(therapists) - 1)),
        "as_client": draw(st.booleans()),
        "moving": draw(st.none() | st.integers(0, 59)),
    }


def build(spa: dict) -> dict:
    """The spa's rows; the arguments of free_times' searches for it."""
    bars = EquipmentFactory(name="Overhead bars")
    treatment = TreatmentFactory(duration_minutes=spa["duration"], buffer_minutes=spa["buffer"])
    if spa["needs_bars"]:
        treatment.equipment.add(bars)
    therapists = []
    for shape in spa["therapists"]:
        therapist = TherapistFactory(is_active=shape["active"])
        expires = shape["expires_after"]
        Qualification.objects.create(
            therapist=therapist,
            treatment=treatment,
            expires_on=None if expires is None else spa["first_day"] + datetime.timedelta(expires),
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(therapist=therapist, weekday=weekday, starts_at=opens, ends_at=closes)
            for weekday, (opens, closes) in shape["hours"].items()
        )
        for step, length in shape["time_off"]:
            start = local(spa["first_day"], step * 5)
            TimeOff.objects.create(
                therapist=therapist, starts_at=start, ends_at=start + minutes(length * 5)
            )
        therapists.append(therapist)
    rooms = []
    for shape in spa["rooms"]:
        room = RoomFactory(is_in_service=shape["in_service"])
        if shape["bars"]:
            room.equipment.add(bars)
        rooms.append(room)
    clients = [ClientFactory() for _ in range(3)]
    appointments = []
    for step, therapist, room, client, status in spa["appointments"]:
        start = local(spa["first_day"], step * 5)
        end = start + treatment.duration
        try:
            with transaction.atomic():
                appointments.append(
                    Appointment.objects.create(
                        client=clients[client],
                        therapist=therapists[therapist],
                        room=rooms[room],
                        treatment=treatment,
                        starts_at=start,
                        ends_at=end,
                        blocked_until=end + treatment.buffer,
                        status=status,
                        cancelled_at=start if status == "cancelled" else None,
                    )
                )
        except IntegrityError:
            pass  # it would overlap one already there
    moving = spa["moving"]
    return {
        "treatment": treatment,
        "first_day": spa["first_day"],
        "last_day": spa["last_day"],
        "therapist_id": None
        if spa["pick_therapist"] is None
        else therapists[spa["pick_therapist"]].pk,
        "client_id": clients[0].pk if spa["as_client"] else None,
        "ignore_appointment_id": appointments[moving].pk
        if moving is not None and moving < len(appointments)
        else None,
        "now": spa["now"],
    }


def local_day(slot) -> datetime.date:
    return slot.start.astimezone(LONDON).date()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spas())
def test_calendar_days_and_day_times_are_those_of_the_full_computation(spa):
    with transaction.atomic():
        search = build(spa)
        every_slot = free_times.free_slots(**search)
        first_of_each_start: dict = {}
        for slot in every_slot:
            first_of_each_start.setdefault(slot.start, slot)

        with CaptureQueriesContext(connection) as queries:
            days = free_times.days_with_free_times(**search)
        times = free_times.free_starts(**search)
        event(f"days with free times: {min(len(days), 3)}+; rounds: {len(queries) - 1}")

        assert days == {local_day(slot) for slot in every_slot}
        assert times == list(first_of_each_start.values())
        # A calendar with a day picked under it (the reschedule page): the same days, and
        # that day's own free starts, from one read of the hours.
        for picked in sorted(days)[:2] + [search["first_day"] - datetime.timedelta(days=1)]:
            assert free_times.calendar(picked=picked, **search) == (
                days,
                [slot for slot in times if local_day(slot) == picked],
            )
        # What a booking checks: the slots at one start, reading only the busy times then.
        looked_at = list(first_of_each_start)[:3]
        looked_at += [start + minutes(5) for start in looked_at[:1]]  # off the grid, or taken
        at_one_start = {
            name: search[name]
            for name in ("treatment", "therapist_id", "client_id", "ignore_appointment_id", "now")
        }
        for start in looked_at:
            assert free_times.slots_at(start=start, **at_one_start) == [
                slot for slot in every_slot if slot.start == start
            ]
        transaction.set_rollback(True)


def test_the_calendar_reads_busy_times_in_rounds_until_each_day_is_settled(
    django_assert_num_queries,
):
    """A day whose first starts are taken needs more rounds; a day free at its first start
    needs one. One query for the hours, one per round."""
    spa = {
        "first_day": datetime.date(2026, 12, 2),
        "last_day": datetime.date(2026, 12, 3),
        "duration": 60,
        "buffer": 0,
        "needs_bars": False,
        "therapists": [
            {
                "hours": {
                    2: (datetime.time(9), datetime.time(17)),
                    3: (datetime.time(9), datetime.time(17)),
                },
                "expires_after": None,
                "active": True,
                "time_off": [],
            }
        ],
        "rooms": [{"bars": False, "in_service": True}],
        # 2 December: busy 09:00-12:00, so free from 12:00 (its 13th start of 15-minute steps).
        "appointments": [((9 + hour) * 12, 0, 0, 1, "confirmed") for hour in range(3)],
        "now": local(datetime.date(2026, 12, 1), 8 * 60),
        "pick_therapist": None,
        "as_client": False,
        "moving": None,
    }
    search = build(spa)

    # The hours; round 1 (each day's first start, 09:00: 3 December settles); rounds of 4
    # and 16 more starts of 2 December (09:15 to 10:00, then 10:15 to 14:00: 12:00 is free).
    with django_assert_num_queries(4):
        days = free_times.days_with_free_times(**search)

    assert days == {datetime.date(2026, 12, 2), datetime.date(2026, 12, 3)}
