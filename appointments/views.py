import datetime
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from clients.models import Client
from screening.eligibility import (
    Outlook,
    Verdict,
    back_walking_outlook,
    back_walking_verdict,
    current_screening,
)

from . import schedule, services, waitlist
from .availability import Slot
from .forms import BookingForm, CancelForm, DayForm, RescheduleForm, format_start
from .models import Appointment, Therapist, Treatment, WaitlistEntry

CALENDAR_WEEKS = 4


def _own_appointment(request: HttpRequest, pk: int) -> Appointment:
    """The client's own appointment, or 404: another client's looks like no appointment."""
    return get_object_or_404(Appointment.objects.with_details(), pk=pk, client__user=request.user)


def _parse_day(value: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _therapist_filter(request: HttpRequest) -> Therapist | None:
    """The therapist chosen in the query string; an unknown id shows everyone."""
    form = DayForm(request.GET)
    return form.cleaned_data["therapist"] if form.is_valid() else None


def _times(slots: list[Slot]) -> list[dict]:
    """Each free start time once, however many therapists are free then."""
    return [
        {"local": timezone.localtime(start), "param": format_start(start)}
        for start in sorted({slot.start for slot in slots})
    ]


def _calendar(
    slots: list[Slot], first: datetime.date, bookable: tuple[datetime.date, datetime.date]
) -> list[list[dict]]:
    """Four weeks from `first`; only days inside `bookable` (inclusive) offer their times."""
    free = schedule.days_with_free_slots(slots)
    weeks = []
    for week in range(CALENDAR_WEEKS):
        days = []
        for offset in range(7):
            day = first + datetime.timedelta(days=week * 7 + offset)
            open_day = bookable[0] <= day <= bookable[1]
            days.append(
                {
                    "date": day,
                    "free": free.get(day, 0) if open_day else 0,
                    "bookable": open_day,
                }
            )
        weeks.append(days)
    return weeks


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


def treatment_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "appointments/treatment_list.html",
        {"treatments": Treatment.objects.active()},
    )


def treatment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The treatment, and a calendar of the next weeks showing which days have free times."""
    treatment = get_object_or_404(Treatment.objects.active(), slug=slug)
    bookable = schedule.bookable_days()
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
    slots = (
        schedule.free_slots(
            treatment=treatment,
            first_day=shown[0],
            last_day=shown[1],
            therapist_id=therapist.pk if therapist else None,
        )
        if shown and shown[0] <= shown[1]
        else []
    )
    previous_first = first - datetime.timedelta(weeks=CALENDAR_WEEKS)
    next_first = last + datetime.timedelta(days=1)
    return render(
        request,
        "appointments/treatment_detail.html",
        {
            "treatment": treatment,
            "therapists": treatment.therapists.active(),
            "therapist": therapist,
            "weeks": _calendar(slots, first, open_days) if open_days else [],
            "previous_first": previous_first if first > today else None,
            "next_first": next_first if next_first <= bookable[1] else None,
            "outlook": outlook,
            "waitlist_days": open_days if _may_wait(request) else None,
        },
    )


def day_times(request: HttpRequest, slug: str, day: datetime.date) -> HttpResponse:
    """The free times of one day, for one therapist or any."""
    treatment = get_object_or_404(Treatment.objects.active(), slug=slug)
    date = day
    therapist = _therapist_filter(request)
    client = Client.objects.of(request.user)
    outlook = _back_walking_outlook(client, treatment, timezone.localdate())
    bookable = schedule.bookable_days()
    open_days = _open_days(outlook, bookable)
    slots = (
        schedule.free_slots(
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
            "therapists": treatment.therapists.active(),
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


@login_required
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, slug: str) -> HttpResponse:
    """The confirmation step (GET) and the booking itself (POST)."""
    treatment = get_object_or_404(Treatment.objects.active(), slug=slug)
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
    if treatment.is_back_walking and form.cleaned_data["health_changed"] == "yes":
        messages.info(
            request,
            "Please fill in a new health screening. Your chosen time is kept for when you finish.",
        )
        return redirect(f"{reverse('screening:new')}?{urlencode({'next': confirm_url})}")
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
        else:
            waitlist.settle_booking(appointment=appointment)  # what they waited for, if anything
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
            "refusal": services.under_age_refusal(client=client, treatment=treatment),
            "verdict": _verdict(client, treatment, start),
            "confirm_url": confirm_url,
        },
        status=409 if error else 200,
    )


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
def booked(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request, "appointments/booked.html", {"appointment": _own_appointment(request, pk)}
    )


@login_required
def my_appointments(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    appointments = Appointment.objects.with_details().filter(client__user=request.user)
    return render(
        request,
        "appointments/my_appointments.html",
        {
            "upcoming": appointments.active().upcoming(now),
            "past": appointments.past(now),
            "cancelled": appointments.upcoming(now).filter(status=Appointment.Status.CANCELLED),
            "waitlist": WaitlistEntry.objects.current(timezone.localdate(now))
            .filter(client__user=request.user)
            .select_related("treatment", "therapist"),
            "is_client": Client.objects.of(request.user) is not None,
        },
    )


@login_required
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _own_appointment(request, pk)
    deadline = services.online_change_deadline(appointment)
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "change_deadline": deadline,
            "can_change": services.can_change_online(appointment),
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
    """Pick a new day and time for an appointment; the same rules as booking."""
    appointment = _own_appointment(request, pk)
    error = None
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if form.is_valid():
            try:
                services.reschedule_appointment(
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    therapist=form.cleaned_data["therapist"],
                    health_unchanged=form.cleaned_data["health_changed"] == "no",
                )
            except services.BookingError as exc:
                error = exc
            else:
                messages.success(request, "Your appointment has moved. We have emailed you.")
                return redirect("appointments:detail", pk=pk)
        else:
            messages.error(request, next(iter(form.errors.values()))[0])
    bookable = schedule.bookable_days()
    date = _parse_day(request.GET.get("date"), bookable[0])
    date = min(max(date, bookable[0]), bookable[1])
    therapist = _therapist_filter(request)
    slots = schedule.free_slots(
        treatment=appointment.treatment,
        first_day=date,
        last_day=date,
        therapist_id=therapist.pk if therapist else None,
        client_id=appointment.client_id,
        ignore_appointment_id=appointment.pk,
    )
    return render(
        request,
        "appointments/reschedule.html",
        {
            "appointment": appointment,
            "date": date,
            "therapist": therapist,
            "therapists": appointment.treatment.therapists.active(),
            "times": _times(slots),
            "error": error,
            "alternatives": _alternatives(error) if error else [],
            "previous_day": date - datetime.timedelta(days=1) if date > bookable[0] else None,
            "next_day": date + datetime.timedelta(days=1) if date < bookable[1] else None,
            "can_change": services.can_change_online(appointment),
            "reschedule_url": reverse("appointments:reschedule", args=[pk]),
            "screening": current_screening(appointment.client)
            if appointment.treatment.is_back_walking
            else None,
        },
        status=409 if error else 200,
    )
