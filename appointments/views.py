import datetime
import functools
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from clients.models import Client
from screening.eligibility import (
    Outlook,
    Verdict,
    back_walking_outlook,
    back_walking_verdict,
)
from spa_booking.written_once import Lookup

from . import free_times, services
from .availability import Slot
from .forms import BookingForm, CancelForm, DayForm, RescheduleForm, format_start
from .ics import appointment_attachment
from .models import Appointment, Therapist, Treatment, WaitlistEntry

CALENDAR_WEEKS = 4
PAST_PER_PAGE = 20  # "My appointments": past appointments on a page


def _own_appointment(request: HttpRequest, pk: int) -> Appointment:
    """The client's own appointment, or 404: another client's looks like no appointment."""
    return get_object_or_404(Appointment.objects.with_details(), pk=pk, client__user=request.user)


def _parse_day(value: str | None, default: datetime.date | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _therapist_filter(request: HttpRequest) -> Therapist | None:
    """The therapist chosen in the query string; an unknown id shows everyone."""
    form = DayForm(request.GET)
    return form.cleaned_data["therapist"] if form.is_valid() else None


def _times(slots: list[Slot]) -> list[dict]:
    """Each free start time once, however many therapists are free then, with its clock
    time and its day in words (each day's words made once: a day has dozens of times)."""
    days: dict[datetime.date, str] = {}
    times = []
    for start in sorted({slot.start for slot in slots}):
        local = timezone.localtime(start)
        day = days.get(local.date())
        if day is None:
            day = days[local.date()] = date_format(local, "l j F")
        times.append(
            {
                "param": format_start(start),
                "clock": f"{local:%H:%M}",  # the "H:i" of Django's time filter
                "day": day,
            }
        )
    return times


def _calendar(
    free_days: set[datetime.date],
    first: datetime.date,
    bookable: tuple[datetime.date, datetime.date],
    day_url: Callable[[datetime.date], str],
    *,
    selected: datetime.date | None = None,
    marked: datetime.date | None = None,
) -> list[list[dict]]:
    """Four weeks from `first`; only days inside `bookable` (inclusive) offer their times,
    at `day_url(day)`. `free_days`: the days with a free time; `selected`: the day whose
    times are shown; `marked`: the day of the appointment being moved."""
    weeks = []
    for week in range(CALENDAR_WEEKS):
        days = []
        for offset in range(7):
            day = first + datetime.timedelta(days=week * 7 + offset)
            open_day = bookable[0] <= day <= bookable[1]
            free = open_day and day in free_days
            days.append(
                {
                    "date": day,
                    "free": free,
                    "bookable": open_day,
                    "url": day_url(day) if free else "",
                    "selected": day == selected,
                    "marked": day == marked,
                }
            )
        weeks.append(days)
    return weeks


def _with_query(url: str, **params) -> str:
    """`url` with the parameters that have a value."""
    query = urlencode({name: value for name, value in params.items() if value})
    return f"{url}?{query}" if query else url


def _back_walking_outlook(
    client: Client | None, treatment: Treatment, today: datetime.date
) -> Outlook | None:
    """What a client's age and screening already say about this treatment (None: nothing,
    for guests, staff and other treatments). It explains and hides days early; the booking
    services still judge every booking."""
    if client is None or not treatment.is_back_walking:
        return None
    return back_walking_outlook(client=client, today=today)


def _open_days(
    outlook: Outlook | None, bookable: tuple[datetime.date, datetime.date]
) -> tuple[datetime.date, datetime.date] | None:
    """The days this client may pick (inclusive); None when the outlook rules out every day."""
    if outlook is None:
        return bookable
    if not outlook.bookable:
        return None
    if outlook.first_day is None:
        return bookable
    return max(bookable[0], outlook.first_day), bookable[1]


def _may_wait(request: HttpRequest) -> bool:
    """Clients join the waitlist online (guests after logging in); staff in the admin."""
    return not request.user.is_authenticated or Client.objects.of(request.user) is not None


@functools.lru_cache(maxsize=2)
def _offered_on(today: datetime.date) -> Lookup[Treatment]:
    """A treatment the site offers on `today`, by slug (spa_booking/written_once.py). Its
    nested EXISTS took the ORM about 5 ms to build on a slow machine, twice what
    PostgreSQL takes to run it, on every calendar and day of times: now once a day. Two
    days kept, for the requests either side of midnight."""
    return Lookup(
        lambda slug: Treatment.objects.offered_online(today).filter(slug=slug),
        stand_in="not a slug",
    )


def _offered_treatment(slug: str) -> Treatment:
    """The treatment of a calendar page, if the site offers it today; a 404 otherwise."""
    treatment = _offered_on(timezone.localdate()).first(slug)
    if treatment is None:
        raise Http404("No such treatment.")
    return treatment


def treatment_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "appointments/treatment_list.html",
        {"treatments": Treatment.objects.offered_online()},
    )


def treatment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The treatment, and a calendar of the next weeks showing which days have free times."""
    treatment = _offered_treatment(slug)
    bookable = free_times.bookable_days()
    today = timezone.localdate()
    outlook = _back_walking_outlook(Client.objects.of(request.user), treatment, today)
    open_days = _open_days(outlook, bookable)
    # Someone who can book only from a later day sees that day's weeks first.
    waits_until = outlook.first_day if outlook and outlook.bookable else None
    requested = _parse_day(request.GET.get("from"), waits_until or today)
    requested = min(max(requested, today), bookable[1])
    first = requested - datetime.timedelta(days=requested.weekday())
    last = first + datetime.timedelta(weeks=CALENDAR_WEEKS) - datetime.timedelta(days=1)
    therapist = _therapist_filter(request)
    shown = (max(first, open_days[0]), min(last, open_days[1])) if open_days else None
    free_days = (
        free_times.days_with_free_times(
            treatment=treatment,
            first_day=shown[0],
            last_day=shown[1],
            therapist_id=therapist.pk if therapist else None,
        )
        if shown and shown[0] <= shown[1]
        else set()
    )
    previous_first = first - datetime.timedelta(weeks=CALENDAR_WEEKS)
    next_first = last + datetime.timedelta(days=1)
    return render(
        request,
        "appointments/treatment_detail.html",
        {
            "treatment": treatment,
            "therapists": treatment.therapists.listed(),
            "therapist": therapist,
            "weeks": _calendar(
                free_days,
                first,
                open_days,
                lambda day: _with_query(
                    reverse("appointments:day", args=[treatment.slug, day]),
                    therapist=therapist.pk if therapist else None,
                ),
            )
            if open_days
            else [],
            "previous_first": previous_first if first > today else None,
            "next_first": next_first if next_first <= bookable[1] else None,
            "outlook": outlook,
            "waitlist_days": open_days if _may_wait(request) else None,
        },
    )


def day_times(request: HttpRequest, slug: str, day: datetime.date) -> HttpResponse:
    """The free times of one day, for one therapist or any."""
    treatment = _offered_treatment(slug)
    date = day
    therapist = _therapist_filter(request)
    client = Client.objects.of(request.user)
    outlook = _back_walking_outlook(client, treatment, timezone.localdate())
    bookable = free_times.bookable_days()
    open_days = _open_days(outlook, bookable)
    slots = (
        free_times.free_starts(
            treatment=treatment,
            first_day=date,
            last_day=date,
            therapist_id=therapist.pk if therapist else None,
            client_id=client.pk if client else None,
        )
        if open_days and open_days[0] <= date <= open_days[1]
        else []
    )
    earliest = open_days[0] if open_days else bookable[0]
    return render(
        request,
        "appointments/day_times.html",
        {
            "treatment": treatment,
            "date": date,
            "therapist": therapist,
            "therapists": treatment.therapists.listed(),
            "times": _times(slots),
            "outlook": outlook,
            "can_wait": _may_wait(request) and bool(open_days) and earliest <= date <= bookable[1],
            "previous_day": date - datetime.timedelta(days=1) if date > earliest else None,
            "next_day": date + datetime.timedelta(days=1) if date < bookable[1] else None,
        },
    )


def _alternatives(error: services.BookingError) -> list[dict]:
    therapists = {
        t.pk: t
        for t in Therapist.objects.filter(pk__in={slot.therapist_id for slot in error.alternatives})
    }
    return [
        {
            "local": timezone.localtime(slot.start),
            "param": format_start(slot.start),
            "therapist": therapists[slot.therapist_id],
        }
        for slot in error.alternatives
    ]


# Every booking's treatment (spa_booking/written_once.py).
_ACTIVE_TREATMENT = Lookup(
    lambda slug: Treatment.objects.active().filter(slug=slug), stand_in="not a slug"
)


@login_required
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slug: str) -> HttpResponse:
    """The confirmation step (GET) and the booking itself (POST)."""
    treatment = _ACTIVE_TREATMENT.first(slug)
    if treatment is None:
        raise Http404("No such treatment.")
    client = Client.objects.of(request.user)
    if client is None:
        messages.error(
            request,
            "Only client accounts can book online. Staff can book for a client in the spa admin.",
        )
        return redirect("appointments:treatment", slug=slug)
    data = request.POST if request.method == "POST" else request.GET
    form = BookingForm(data)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return redirect("appointments:treatment", slug=slug)
    start, therapist = form.cleaned_data["start"], form.cleaned_data["therapist"]
    confirm_url = _confirm_url(treatment, start, therapist)
    # Too young for back-walking: never asked about their health for it (the page says why).
    refusal = services.under_age_refusal(client=client, treatment=treatment)

    def judged() -> Verdict | None:
        return None if refusal else _verdict(client, treatment, start)

    health_changed = form.cleaned_data["health_changed"] == "yes"
    # The page explains the screening's verdict early. A booking leaves the judging to the
    # service's gate (under the client's lock), and reads the verdict here only to say
    # why it was refused: one screening read per booking, not two.
    verdict = judged() if request.method == "GET" or health_changed else None
    if verdict and health_changed:
        return _to_screening(request, "Please fill in a new health screening.", confirm_url)
    if verdict and verdict.new_screening_helps and request.method == "GET":
        # The questionnaire is the only way on: straight to it, and back here afterwards.
        return _to_screening(request, verdict.message, confirm_url)
    error = None
    if request.method == "POST":
        try:
            appointment = services.book_appointment(
                client=client,
                treatment=treatment,
                start=start,
                therapist=therapist,
                booking_token=form.cleaned_data["booking_token"],
                health_unchanged=form.cleaned_data["health_changed"] == "no",
            )
        except services.BookingError as exc:
            error = exc
            verdict = judged()
        else:
            return redirect("appointments:booked", pk=appointment.pk)
    return render(
        request,
        "appointments/book.html",
        {
            "treatment": treatment,
            "start": timezone.localtime(start),
            "start_param": format_start(start),
            "therapist": therapist,
            "booking_token": uuid.uuid4(),
            "error": error,
            "alternatives": _alternatives(error) if error else [],
            "refusal": refusal,
            "verdict": verdict,
            "confirm_url": confirm_url,
            "change_rule": services.change_rule(starts_at=start, booked_at=timezone.now()),
        },
        status=409 if error else 200,
    )


def _to_screening(request: HttpRequest, why: str, come_back_to: str) -> HttpResponse:
    """To the health questionnaire, which brings the client back to `come_back_to`."""
    messages.info(
        request,
        f"{why} We keep the time you picked in mind: you come back to it when you finish.",
    )
    return redirect(f"{reverse('screening:new')}?{urlencode({'next': come_back_to})}")


def _confirm_url(treatment: Treatment, start: datetime.datetime, therapist) -> str:
    query = urlencode(
        {"start": format_start(start), "therapist": therapist.pk if therapist else "any"}
    )
    return f"{reverse('appointments:book', args=[treatment.slug])}?{query}"


def _verdict(client: Client, treatment: Treatment, start: datetime.datetime) -> Verdict | None:
    """What the client's screening means for this back-walking booking, to explain it early."""
    if not treatment.is_back_walking:
        return None
    return back_walking_verdict(client=client, day=timezone.localtime(start).date())


@login_required
def calendar_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The appointment's calendar file, the same as the one in the emails: opening it adds
    (or updates) the event in the client's calendar app."""
    appointment = _own_appointment(request, pk)
    name, content, content_type = appointment_attachment(appointment)
    response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def booked(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _own_appointment(request, pk)
    return render(
        request,
        "appointments/booked.html",
        {"appointment": appointment, "change_rule": services.change_rule_of(appointment)},
    )


@login_required
def my_appointments(request: HttpRequest) -> HttpResponse:
    """What is coming in full (the booking horizon bounds it); the past a page at a time,
    newest first: a regular's years of visits would make the page grow without end."""
    now = timezone.now()
    # By the client's id, not through their user: PostgreSQL then reads a page of the
    # past straight from the (client, start) index instead of all of it.
    client = Client.objects.of(request.user)
    # The client is the one logged in: no join to them and their account for each row.
    appointments = Appointment.objects.select_related("treatment", "therapist", "room").filter(
        client=client
    )
    # What is coming, in one read (the horizon bounds it), then split by status.
    coming = list(appointments.upcoming(now))
    cancelled = Appointment.Status.CANCELLED
    # Newest first; the id orders two at the same start (one cancelled) the same way on
    # every page.
    past = appointments.past(now).order_by("-starts_at", "-pk")
    return render(
        request,
        "appointments/my_appointments.html",
        {
            "upcoming": [visit for visit in coming if visit.status != cancelled],
            "past": Paginator(past, PAST_PER_PAGE).get_page(request.GET.get("page")),
            "cancelled": [visit for visit in coming if visit.status == cancelled],
            "waitlist": WaitlistEntry.objects.current(timezone.localdate(now))
            .filter(client=client)
            .select_related("treatment", "therapist"),
            "is_client": client is not None,
        },
    )


@login_required
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _own_appointment(request, pk)
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "change_rule": services.change_rule_of(appointment),
            "can_change": services.can_change_online(appointment),
            "is_over": appointment.ends_at <= timezone.now() or not appointment.is_open,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _own_appointment(request, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(appointment=appointment, reason=form.cleaned_data["reason"])
        except services.BookingError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your appointment is cancelled. We have emailed you.")
        return redirect("appointments:detail", pk=pk)
    return render(request, "appointments/cancel.html", {"appointment": appointment, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an appointment (POST, from the confirmation step), or pick its new time (GET):
    a calendar of free days from the appointment's own week, and the times of the day
    picked, each leading to the confirmation step. The same rules as booking."""
    appointment = _own_appointment(request, pk)
    error = None
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if form.is_valid():
            start, therapist = form.cleaned_data["start"], form.cleaned_data["therapist"]
            changed = form.cleaned_data["health_changed"] == "yes"
            if changed and appointment.treatment.is_back_walking:
                confirm_url = _move_url(appointment, start, therapist)
                return _to_screening(request, "Please fill in a new health screening.", confirm_url)
            try:
                services.reschedule_appointment(
                    appointment=appointment,
                    start=start,
                    therapist=therapist,
                    health_unchanged=form.cleaned_data["health_changed"] == "no",
                )
            except services.BookingError as exc:
                error = exc
            else:
                messages.success(request, "Your appointment has moved. We have emailed you.")
                return redirect("appointments:detail", pk=pk)
        else:
            messages.error(request, next(iter(form.errors.values()))[0])
    treatment = appointment.treatment
    today = timezone.localdate()
    bookable = free_times.bookable_days()
    outlook = _back_walking_outlook(appointment.client, treatment, today)
    open_days = _open_days(outlook, bookable)
    therapist = _therapist_filter(request)
    therapist_id = therapist.pk if therapist else None
    now_on = timezone.localtime(appointment.starts_at).date()
    picked = _parse_day(request.GET.get("date"), None)
    # The weeks around the appointment's own day first: a move is usually a small one.
    requested = _parse_day(request.GET.get("from"), picked or now_on)
    requested = min(max(requested, today), bookable[1])
    first = requested - datetime.timedelta(days=requested.weekday())
    last = first + datetime.timedelta(weeks=CALENDAR_WEEKS) - datetime.timedelta(days=1)
    shown = (max(first, open_days[0]), min(last, open_days[1])) if open_days else None
    whose = {
        "treatment": treatment,
        "therapist_id": therapist_id,
        "client_id": appointment.client_id,
        "ignore_appointment_id": appointment.pk,
    }
    free_days, times = (
        free_times.calendar(first_day=shown[0], last_day=shown[1], picked=picked, **whose)
        if shown and shown[0] <= shown[1]
        else (set(), [])
    )
    here = reverse("appointments:reschedule", args=[pk])

    def day_url(day: datetime.date) -> str:
        query = {"from": first, "date": day, "therapist": therapist_id}
        return _with_query(here, **query) + "#times"

    previous_first = first - datetime.timedelta(weeks=CALENDAR_WEEKS)
    next_first = last + datetime.timedelta(days=1)
    return render(
        request,
        "appointments/reschedule.html",
        {
            "appointment": appointment,
            "treatment": treatment,
            "outlook": outlook,
            "date": picked,
            "first": first,
            "therapist": therapist,
            "therapists": treatment.therapists.listed(),
            "weeks": _calendar(free_days, first, open_days, day_url, selected=picked, marked=now_on)
            if open_days
            else [],
            "previous_first": previous_first if first > today else None,
            "next_first": next_first if next_first <= bookable[1] else None,
            "times": _times(times),
            "confirm_base": reverse("appointments:reschedule_confirm", args=[pk]),
            "error": error,
            "alternatives": _alternatives(error) if error else [],
            "can_change": services.can_change_online(appointment),
        },
        status=409 if error else 200,
    )


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _move_url(appointment: Appointment, start: datetime.datetime, therapist) -> str:
    return _with_query(
        reverse("appointments:reschedule_confirm", args=[appointment.pk]),
        start=format_start(start),
        therapist=therapist.pk if therapist else "any",
    )


@login_required
def reschedule_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation step of a move: the time now, the new time, and what the change
    rule will be for the new time. Its button posts to `reschedule`."""
    appointment = _own_appointment(request, pk)
    form = RescheduleForm(request.GET)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect("appointments:reschedule", pk=pk)
    start, therapist = form.cleaned_data["start"], form.cleaned_data["therapist"]
    treatment = appointment.treatment
    refusal = services.under_age_refusal(client=appointment.client, treatment=treatment)
    verdict = None if refusal else _verdict(appointment.client, treatment, start)
    return render(
        request,
        "appointments/reschedule_confirm.html",
        {
            "appointment": appointment,
            "treatment": treatment,
            "start": timezone.localtime(start),
            "start_param": format_start(start),
            "therapist": therapist,
            "refusal": refusal,
            "verdict": verdict,
            "can_change": services.can_change_online(appointment),
            "change_rule": services.change_rule(starts_at=start, booked_at=appointment.created_at),
            "confirm_url": _move_url(appointment, start, therapist),
            "back_url": _with_query(
                reverse("appointments:reschedule", args=[pk]),
                date=_local_day(start),
                therapist=therapist.pk if therapist else None,
            ),
        },
    )
