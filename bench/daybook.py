"""The front desk's day book timed in process: the view (appointments.front_desk.views.day)
for one day of the seeded spa, every working therapist a column, with the free times of one
treatment, rendered to HTML. Middleware and the network are left out: this is the server's
own work for the page, and its queries."""

import datetime
import statistics
import time
from dataclasses import dataclass

from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import free_times
from appointments.front_desk import views
from appointments.front_desk.day_book import load_day_book
from appointments.models import Appointment, Treatment, WorkingHours
from clients.models import User

from .freetimes import percentile


@dataclass
class DayBookTime:
    day: datetime.date
    therapists: int
    appointments: int
    occupancy: float  # blocked time of the day's appointments / the therapists' working time
    queries: int
    median_ms: float
    p95_ms: float
    html_kb: float


def widest_day(
    first: datetime.date, treatment: Treatment, *, target: float, days: int = 28
) -> datetime.date:
    """Among the `days` from `first`, a day on which the most therapists work, and of those
    the one whose occupancy is nearest the seeded `target`: the widest day book, as full as
    a usual day of the spa (a single day drifts a few points from the spa's average)."""
    working_on = {}
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        working = WorkingHours.objects.filter(weekday=day.weekday(), therapist__is_active=True)
        working_on[day] = working.values("therapist").distinct().count()
    most = max(working_on.values())
    widest = [day for day, count in working_on.items() if count == most]
    return min(widest, key=lambda day: abs(_occupancy(day, treatment)[2] - target))


def _occupancy(day: datetime.date, treatment: Treatment) -> tuple[int, int, float]:
    book = load_day_book(date=day, treatment=treatment, now=timezone.now())
    working = datetime.timedelta()
    for column in book.columns:
        for block in column.hours:
            start = datetime.datetime.combine(day, block.starts_at)
            working += datetime.datetime.combine(day, block.ends_at) - start
    start, end = free_times.local_days(day)
    active = Appointment.objects.active().filter(starts_at__gte=start, starts_at__lt=end)
    blocked = sum((a.blocked_until - a.starts_at for a in active), datetime.timedelta())
    return len(book.columns), active.count(), blocked / working if working else 0.0


def measure(*, day: datetime.date, treatment: Treatment, repetitions: int = 50) -> DayBookTime:
    user = User.objects.filter(email="bench-desk@spa.example").first() or (
        User.objects.create_superuser("bench-desk@spa.example", None)
    )
    user.is_verified = lambda: True  # as after the second factor
    factory = RequestFactory()
    query = {"date": day.isoformat(), "treatment": treatment.slug}

    def run():
        request = factory.get("/front-desk/day/", query)
        request.user = user
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        response = views.day(request)
        assert response.status_code == 200, response.status_code
        return response

    for _ in range(5):
        run()
    totals = []
    for _ in range(repetitions):
        started = time.perf_counter()
        response = run()
        totals.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        run()
    therapists, appointments, occupancy = _occupancy(day, treatment)
    return DayBookTime(
        day=day,
        therapists=therapists,
        appointments=appointments,
        occupancy=occupancy,
        queries=len(queries),
        median_ms=statistics.median(totals),
        p95_ms=percentile(totals, 0.95),
        html_kb=len(response.content) / 1024,
    )
