"""Free times computed in process: free_times.free_slots timed, its queries counted and timed."""

import datetime
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

from appointments import availability, free_times
from appointments.models import Treatment


@dataclass
class FreeTimes:
    label: str
    days: int
    slots: int
    queries: int
    median_ms: float
    p95_ms: float
    sql_ms: float  # median time inside cursor.execute (PostgreSQL and the round trip)
    pure_ms: float  # median time inside availability.free_slots (no database)

    @property
    def other_ms(self) -> float:
        """The rest: building model instances and the schedule values from the rows."""
        return self.median_ms - self.sql_ms - self.pure_ms


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the value `share` of the samples do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def measure(
    *,
    treatment: Treatment,
    first_day: datetime.date,
    days: int,
    label: str,
    repetitions: int = 50,
    warmup: int = 5,
) -> FreeTimes:
    last_day = first_day + datetime.timedelta(days=days - 1)

    def run() -> list:
        return free_times.free_slots(treatment=treatment, first_day=first_day, last_day=last_day)

    for _ in range(warmup):
        run()
    totals, sql, pure, counts = [], [], [], []
    for _ in range(repetitions):
        with _timed_queries() as queries, _timed_pure() as pure_time:
            started = time.perf_counter()
            slots = run()
            totals.append((time.perf_counter() - started) * 1000)
        sql.append(queries.seconds * 1000)
        counts.append(queries.count)
        pure.append(pure_time.seconds * 1000)
    return FreeTimes(
        label=label,
        days=days,
        slots=len(slots),
        queries=max(counts),
        median_ms=statistics.median(totals),
        p95_ms=percentile(totals, 0.95),
        sql_ms=statistics.median(sql),
        pure_ms=statistics.median(pure),
    )


class _Clock:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0


@contextmanager
def _timed_queries():
    clock = _Clock()

    def wrapper(execute: Callable, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            clock.seconds += time.perf_counter() - started
            clock.count += 1

    with connection.execute_wrapper(wrapper):
        yield clock


@contextmanager
def _timed_pure():
    """Wrap availability.free_slots, which free_times.free_slots calls through the module."""
    clock = _Clock()
    original = availability.free_slots

    def timed(**kwargs):
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            clock.seconds += time.perf_counter() - started

    availability.free_slots = timed
    try:
        yield clock
    finally:
        availability.free_slots = original
