"""'My schedule': a therapist's own day, week, appointments and calendar feed."""

import datetime
from collections import defaultdict

from django.contrib import messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from clients import audit
from clients.models import AccessRecord
from clients.staff_sessions import second_factor_required
from screening.eligibility import latest_screenings_first, therapist_sees_health_summary

from . import visits
from .free_times import local_days
from .ics import therapist_feed
from .models import Appointment, Therapist, TimeOff, WorkingHours, new_feed_token
from .services import BookingError

FEED_PAST = datetime.timedelta(days=30)
FEED_AHEAD = datetime.timedelta(days=120)


def _own_therapist(request: HttpRequest) -> Therapist:
    """The logged-in therapist; anyone else finds no schedule here."""
    therapist = Therapist.objects.filter(user=request.user).first()
    if therapist is None:
        raise Http404("No schedule")
    return therapist


def _own_appointment(request: HttpRequest, pk: int) -> Appointment:
    """One of the therapist's own appointments; another therapist's is a 404."""
    therapist = _own_therapist(request)
    return get_object_or_404(
        _with_schedule_details(Appointment.objects.all()), pk=pk, therapist=therapist
    )


def _with_schedule_details(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    earlier_visit = (
        Appointment.objects.active()
        .filter(client=OuterRef("client"), starts_at__lt=OuterRef("starts_at"))
        .exclude(pk=OuterRef("pk"))
    )
    return (
        appointments.select_related("treatment", "room", "client", "pre_session_check")
        .prefetch_related(latest_screenings_first("client__screenings"))
        .annotate(returning=Exists(earlier_visit))
    )


def _mark_health_summary(appointment: Appointment, today: datetime.date) -> Appointment:
    appointment.shows_health = therapist_sees_health_summary(
        is_back_walking=appointment.treatment.is_back_walking,
        is_open=appointment.is_open,
        day=timezone.localtime(appointment.starts_at).date(),
        today=today,
    )
    return appointment


def _record_health_summaries(request: HttpRequest, appointments: list[Appointment]) -> None:
    """Record whose health summary the page shows (one INSERT, however many)."""
    audit.record_access(
        request,
        kind=AccessRecord.Kind.SCHEDULE,
        client_ids={
            appointment.client_id
            for appointment in appointments
            if appointment.shows_health and appointment.client.screenings_newest_first
        },
    )


def _days(therapist: Therapist, first: datetime.date, count: int) -> list[dict]:
    """Each day with its working hours, time off and appointments (a fixed number of queries)."""
    start, end = local_days(first, first + datetime.timedelta(days=count - 1))
    appointments = _with_schedule_details(
        Appointment.objects.filter(therapist=therapist, starts_at__gte=start, starts_at__lt=end)
    ).order_by("starts_at")
    hours = defaultdict(list)
    for block in WorkingHours.objects.filter(therapist=therapist).order_by("starts_at"):
        hours[block.weekday].append(block)
    absences = list(TimeOff.objects.filter(therapist=therapist).overlapping(start, end))
    by_day = defaultdict(list)
    today = timezone.localdate()
    for appointment in appointments:
        by_day[timezone.localtime(appointment.starts_at).date()].append(
            _mark_health_summary(appointment, today)
        )
    days = []
    for offset in range(count):
        day = first + datetime.timedelta(days=offset)
        day_start, day_end = local_days(day)
        days.append(
            {
                "date": day,
                "hours": hours[day.weekday()],
                "time_off": [
                    a for a in absences if a.starts_at < day_end and a.ends_at > day_start
                ],
                "appointments": by_day[day],
            }
        )
    return days


# Far enough from the ends of the calendar that a week either side still exists.
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(9000, 12, 31)


def _parse_day(value: str | None) -> datetime.date:
    """The day asked for in ?date=, or today when it is missing, malformed or absurd."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        return timezone.localdate()
    return day


@never_cache
@second_factor_required
def day(request: HttpRequest) -> HttpResponse:
    therapist = _own_therapist(request)
    date = _parse_day(request.GET.get("date"))
    shown = _days(therapist, date, 1)[0]
    _record_health_summaries(request, shown["appointments"])
    return render(
        request,
        "appointments/schedule/day.html",
        {
            "therapist": therapist,
            "day": shown,
            "previous": date - datetime.timedelta(days=1),
            "next": date + datetime.timedelta(days=1),
            "today": timezone.localdate(),
        },
    )


@never_cache
@second_factor_required
def week(request: HttpRequest) -> HttpResponse:
    therapist = _own_therapist(request)
    date = _parse_day(request.GET.get("date"))
    monday = date - datetime.timedelta(days=date.weekday())
    days = _days(therapist, monday, 7)
    _record_health_summaries(request, [a for shown in days for a in shown["appointments"]])
    return render(
        request,
        "appointments/schedule/week.html",
        {
            "therapist": therapist,
            "days": days,
            "monday": monday,
            "previous": monday - datetime.timedelta(weeks=1),
            "next": monday + datetime.timedelta(weeks=1),
            "today": timezone.localdate(),
        },
    )


@never_cache
@second_factor_required
def appointment(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _mark_health_summary(_own_appointment(request, pk), timezone.localdate())
    _record_health_summaries(request, [visit])
    now = timezone.now()
    check = getattr(visit, "pre_session_check", None)
    return render(
        request,
        "appointments/schedule/appointment.html",
        {
            "appointment": visit,
            "check": check,
            "started": now >= visit.starts_at,
            "check_open": now >= visit.starts_at - visits.CHECK_OPENS_BEFORE_START,
        },
    )


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    visit = _own_appointment(request, pk)
    try:
        action(visit)
    except BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("schedule:appointment", pk=pk)


@require_POST
@sensitive_post_parameters("reason")
@second_factor_required
def check(request: HttpRequest, pk: int) -> HttpResponse:
    nothing_changed = request.POST.get("outcome") == "done"
    return _act(
        request,
        pk,
        lambda visit: visits.record_pre_session_check(
            appointment=visit,
            by=request.user,
            nothing_changed=nothing_changed,
            reason=request.POST.get("reason", "")[:1000],
        ),
        "Check recorded." if nothing_changed else "Session stopped. Staff will follow up.",
    )


@require_POST
@second_factor_required
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: visits.complete_appointment(appointment=visit, by=request.user),
        "Marked as completed.",
    )


@require_POST
@second_factor_required
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: visits.mark_no_show(appointment=visit, by=request.user),
        "Marked as a no-show.",
    )


@never_cache
@second_factor_required
def calendar(request: HttpRequest) -> HttpResponse:
    """How to subscribe to the feed, and the button to replace its secret."""
    therapist = _own_therapist(request)
    feed_url = request.build_absolute_uri(reverse("schedule:feed", args=[therapist.feed_token]))
    return render(
        request,
        "appointments/schedule/calendar.html",
        {"therapist": therapist, "feed_url": feed_url},
    )


@require_POST
@second_factor_required
def replace_feed(request: HttpRequest) -> HttpResponse:
    therapist = _own_therapist(request)
    Therapist.objects.filter(pk=therapist.pk).update(feed_token=new_feed_token())
    messages.success(
        request,
        "Your calendar address is replaced. The old one no longer works: subscribe again "
        "with the new one.",
    )
    return redirect("schedule:calendar")


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed calendar apps poll; the secret in the address is the login."""
    therapist = get_object_or_404(Therapist, feed_token=token, is_active=True)
    now = timezone.now()
    appointments = (
        Appointment.objects.filter(
            therapist=therapist,
            starts_at__gte=now - FEED_PAST,
            starts_at__lt=now + FEED_AHEAD,
        )
        .select_related("treatment", "room", "client")
        .order_by("starts_at")
    )
    response = HttpResponse(
        therapist_feed(therapist, appointments), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
