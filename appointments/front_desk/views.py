"""The front desk's pages: HTTP only. Every change goes through the services; refusals are
shown in staff words (wording.py), on the same form again (200, as the admin does: a
receptionist's browser treats it as the page it is, not as a failed request)."""

import datetime
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clients import services as client_services
from clients.models import Client

from .. import free_times, services, visits, waitlist
from ..availability import Slot
from ..forms import format_start
from ..models import Appointment, Therapist, Treatment
from . import calls, wording
from .access import front_desk_only
from .clients import clients_own_appointment, find_clients, last_visit
from .day_book import load_day_book, with_front_desk_details
from .forms import (
    ArrivalsForm,
    BookForm,
    CancelForm,
    ClientChoiceField,
    ClientSearchForm,
    DayBookForm,
    MoveForm,
    NewClientForm,
    SlotForm,
)
from .work_list import WHOLE_LISTS, load_work_list

# Far enough from the ends of the calendar that a day either side still exists.
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(9000, 12, 31)


def _day_url(date: datetime.date, treatment: Treatment | None = None, page: int = 1) -> str:
    query = {"date": date.isoformat()}
    if treatment is not None:
        query["treatment"] = treatment.slug
    if page > 1:
        query["page"] = page
    return f"{reverse('front_desk:day')}?{urlencode(query)}"


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _appointment(pk: int) -> Appointment:
    """Any appointment: the front desk works with every client's."""
    return get_object_or_404(with_front_desk_details(Appointment.objects.all()), pk=pk)


def _times_with_therapists(slots: list[Slot]) -> list[dict]:
    therapists = Therapist.objects.in_bulk({slot.therapist_id for slot in slots})
    return [
        {
            "local": timezone.localtime(slot.start),
            "param": format_start(slot.start),
            "therapist": therapists[slot.therapist_id],
        }
        for slot in slots
    ]


def _refusal(
    error: services.BookingError,
    *,
    client: Client,
    start: datetime.datetime,
    treatment: Treatment,
    moving: Appointment | None = None,
) -> dict:
    """The refusal in staff words, and what the page offers instead."""
    clients_own = None
    if error.code == services.Refusal.CLIENT_BUSY:
        clients_own = clients_own_appointment(
            client=client,
            start=start,
            until=start + treatment.duration + treatment.buffer,
            ignore_appointment_id=moving.pk if moving else None,
        )
    return {
        "staff": wording.explain(error, clients_own=clients_own),
        "clients_own": clients_own,
        "alternatives": _times_with_therapists(error.alternatives),
        "has_email": client_services.has_email(client.user),
    }


# Today's work


@never_cache
@front_desk_only
def today(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate(now)
    form = ArrivalsForm(request.GET)
    page = form.cleaned_data.get("page") if form.is_valid() else None
    whole = [name for name in request.GET.getlist("whole") if name in WHOLE_LISTS]
    work = load_work_list(today=today, now=now, page=page, whole=whole)
    shown = work.arrivals_page.number
    return render(
        request,
        "appointments/front_desk/today.html",
        {
            "section": "today",
            "work": work,
            "today": today,
            "now": now,
            "earlier_arrivals_url": _today_url(shown - 1) if shown > 1 else None,
            "later_arrivals_url": (
                _today_url(shown + 1) if shown < work.arrivals_page.pages else None
            ),
            "whole_urls": {
                name: f"{reverse('front_desk:today')}?{urlencode({'whole': name})}#{name}"
                for name in WHOLE_LISTS
            },
        },
    )


def _today_url(page: int) -> str:
    return f"{reverse('front_desk:today')}?{urlencode({'page': page})}#arrivals"


# The day book


@never_cache
@front_desk_only
def day(request: HttpRequest) -> HttpResponse:
    form = DayBookForm(request.GET)
    form.is_valid()  # what is wrong is left out: a bad page number keeps the day
    cleaned = form.cleaned_data
    date = cleaned.get("date") or timezone.localdate()
    if not EARLIEST_DAY <= date <= LATEST_DAY:
        date = timezone.localdate()
    treatment = cleaned.get("treatment") or Treatment.objects.active().first()
    book = load_day_book(
        date=date, treatment=treatment, now=timezone.now(), page=cleaned.get("page") or 1
    )
    page = book.page.number
    return render(
        request,
        "appointments/front_desk/day.html",
        {
            "section": "day",
            "step": settings.SPA_SLOT_STEP_MINUTES,
            "book": book,
            "form": DayBookForm(
                initial={"date": date, "treatment": treatment.slug if treatment else None}
            ),
            "today": timezone.localdate(),
            # Another day keeps the page of therapists: the same names, as far as the
            # same people work.
            "previous_url": _day_url(date - datetime.timedelta(days=1), treatment, page),
            "next_url": _day_url(date + datetime.timedelta(days=1), treatment, page),
            "today_url": _day_url(timezone.localdate(), treatment, page),
            "earlier_names_url": _day_url(date, treatment, page - 1) if page > 1 else None,
            "later_names_url": (
                _day_url(date, treatment, page + 1) if page < len(book.pages) else None
            ),
            "waitlist_url": waitlist.staff_day_url(date),
        },
    )


# Booking a caller: pick a free time, find or add the client, confirm


def _slot_or_day_book(request: HttpRequest, data) -> SlotForm | HttpResponse:
    slot = SlotForm(data)
    if slot.is_valid() and slot.cleaned_data["therapist"] is not None:
        return slot
    messages.error(request, "Pick a free time in the day book.")
    return redirect("front_desk:day")


def _book_url(slot: dict, client: Client | None = None, **extra) -> str:
    query = {
        "treatment": slot["treatment"].slug,
        "start": format_start(slot["start"]),
        "therapist": slot["therapist"].pk,
    }
    if client is not None:
        query["client"] = client.pk
    return f"{reverse('front_desk:book')}?{urlencode(query | extra)}"


def _slot_context(slot: dict) -> dict:
    treatment = slot["treatment"]
    return {
        "section": "day",
        "treatment": treatment,
        "therapist": slot["therapist"],
        "start": timezone.localtime(slot["start"]),
        "end": timezone.localtime(slot["start"] + treatment.duration),
        "start_param": format_start(slot["start"]),
        "day_url": _day_url(_local_day(slot["start"]), treatment),
    }


def _find_client_page(
    request: HttpRequest, slot: dict, new_client_form: NewClientForm
) -> HttpResponse:
    search = ClientSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    results = find_clients(query) if query else []
    for client in results:
        client.book_url = _book_url(slot, client)
        client.has_email = client_services.has_email(client.user)
    return render(
        request,
        "appointments/front_desk/book_find.html",
        {
            **_slot_context(slot),
            "search": search,
            "query": query,
            "results": results,
            "new_client_form": new_client_form,
        },
    )


def _confirm_page(
    request: HttpRequest,
    slot: dict,
    client: Client,
    *,
    form: BookForm | None = None,
    refusal: dict | None = None,
) -> HttpResponse:
    if form is None:
        form = BookForm(
            initial={
                "treatment": slot["treatment"].slug,
                "start": slot["start"],
                "therapist": slot["therapist"].pk,
                "client": client.pk,
            }
        )
    if refusal:
        for alternative in refusal["alternatives"]:
            alternative["url"] = _book_url(
                {**slot, "start": alternative["local"], "therapist": alternative["therapist"]},
                client,
            )
    return render(
        request,
        "appointments/front_desk/book_confirm.html",
        {
            **_slot_context(slot),
            "client": client,
            "client_has_email": client_services.has_email(client.user),
            "last_visit": last_visit(client),
            "form": form,
            "booking_token": uuid.uuid4(),
            "refusal": refusal,
            "change_client_url": _book_url(slot),
            "back_url": _book_url(slot, client),
        },
    )


@never_cache
@front_desk_only
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """GET: find the caller (or add them), then confirm; POST: book."""
    if request.method == "POST":
        form = BookForm(request.POST)
        if not form.is_valid() or form.cleaned_data["therapist"] is None:
            messages.error(request, "Pick a free time in the day book, then the client.")
            return redirect("front_desk:day")
        slot, client = form.cleaned_data, form.cleaned_data["client"]
        try:
            appointment = services.book_appointment(
                client=client,
                treatment=slot["treatment"],
                start=slot["start"],
                therapist=slot["therapist"],
                by_staff=True,
                booking_token=slot["booking_token"],
                health_unchanged=slot["health_unchanged"],
            )
        except services.BookingError as error:
            refusal = _refusal(
                error, client=client, start=slot["start"], treatment=slot["treatment"]
            )
            return _confirm_page(request, slot, client, form=form, refusal=refusal)
        start = timezone.localtime(appointment.starts_at)
        held = appointment.status == Appointment.Status.PENDING_REVIEW
        messages.success(
            request,
            f"Booked {client}: {appointment.treatment} with {appointment.therapist} in "
            f"{appointment.room}, {start:%A %-d %B} at {start:%H:%M}."
            + (" It is held until a screening reviewer decides." if held else ""),
        )
        return redirect(_day_url(start.date(), appointment.treatment))
    slot = _slot_or_day_book(request, request.GET)
    if isinstance(slot, HttpResponse):
        return slot
    if "client" in request.GET:
        field = ClientChoiceField()
        try:
            client = field.clean(request.GET["client"])
        except ValidationError:  # a stale or forged id
            messages.error(request, "Find the client again: that one is not on file.")
            return redirect(_book_url(slot.cleaned_data))
        return _confirm_page(request, slot.cleaned_data, client)
    return _find_client_page(request, slot.cleaned_data, NewClientForm())


@front_desk_only
@require_POST
def new_client(request: HttpRequest) -> HttpResponse:
    """Add the caller as a client, then confirm the booking for them."""
    slot = _slot_or_day_book(request, request.POST)
    if isinstance(slot, HttpResponse):
        return slot
    form = NewClientForm(request.POST)
    if form.is_valid():
        try:
            client = client_services.add_client_by_staff(**form.cleaned_data, by=request.user)
        except client_services.AccountError as error:
            form.add_error(None, error.message)
        else:
            if client_services.has_email(client.user):
                note = "We will email them a link to choose a password and book online."
            else:
                note = "Without an email address they cannot log in; book for them here."
            messages.success(request, f"{client} is added as a client. {note}")
            return redirect(_book_url(slot.cleaned_data, client))
    return _find_client_page(request, slot.cleaned_data, form)


@front_desk_only
@require_POST
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Email the client the link to set a password (if they have none) and to the screening."""
    client = get_object_or_404(Client.objects.filter(erased_at__isnull=True), pk=pk)
    try:
        sent = client_services.invite_client(client=client, by=request.user)
    except client_services.AccountError as error:
        messages.error(request, error.message)
    else:
        if sent:
            messages.success(request, f"We will email {client} the link to the health screening.")
        else:
            messages.info(request, f"An email with the link is already on its way to {client}.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("front_desk:today")


# One appointment: details, arrival, completed, no-show, cancel, the call


@never_cache
@front_desk_only
def appointment(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _appointment(pk)
    now = timezone.now()
    return render(
        request,
        "appointments/front_desk/appointment.html",
        {
            "section": "day",
            "appointment": visit,
            "client_has_email": client_services.has_email(visit.client.user),
            "is_today": _local_day(visit.starts_at) == timezone.localdate(now),
            "started": now >= visit.starts_at,
            "calls": visit.follow_up_calls.select_related("called_by"),
            "cancel_form": CancelForm(),
            "day_url": _day_url(_local_day(visit.starts_at), visit.treatment),
        },
    )


def _back(request: HttpRequest, visit: Appointment) -> HttpResponse:
    """Where a button was pressed: the work list, the day book, or the appointment."""
    if request.POST.get("back") == "today":
        return redirect("front_desk:today")
    if request.POST.get("back") == "day":
        return redirect(_day_url(_local_day(visit.starts_at), visit.treatment))
    return redirect("front_desk:appointment", pk=visit.pk)


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    visit = _appointment(pk)
    try:
        action(visit)
    except services.BookingError as error:
        refusal = wording.explain(error)
        messages.error(request, refusal.message)
    else:
        messages.success(request, success.format(client=visit.client))
    return _back(request, visit)


@front_desk_only
@require_POST
def arrived(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: visits.mark_arrived(appointment=visit, by=request.user),
        "{client} has arrived.",
    )


@front_desk_only
@require_POST
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: visits.complete_appointment(appointment=visit, by=request.user),
        "Marked as completed.",
    )


@front_desk_only
@require_POST
def no_show(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: visits.mark_no_show(appointment=visit, by=request.user),
        "Marked as a no-show.",
    )


@front_desk_only
@require_POST
def called(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda visit: calls.record_call(appointment=visit, by=request.user),
        "The call to {client} is recorded.",
    )


@front_desk_only
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda visit: services.cancel_appointment(appointment=visit, reason=reason, by_staff=True),
        "Cancelled. We will email {client}.",
    )


# Moving an appointment: pick another free time, confirm


@never_cache
@front_desk_only
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _appointment(pk)
    if request.method == "POST" or "start" in request.GET:
        form = MoveForm(request.POST if request.method == "POST" else request.GET)
        if not form.is_valid() or form.cleaned_data["therapist"] is None:
            messages.error(request, "Pick one of the free times.")
            return redirect("front_desk:move", pk=pk)
        start, therapist = form.cleaned_data["start"], form.cleaned_data["therapist"]
        refusal = None
        if request.method == "POST":
            try:
                moved = services.reschedule_appointment(
                    appointment=visit,
                    start=start,
                    therapist=therapist,
                    by_staff=True,
                    health_unchanged=form.cleaned_data["health_unchanged"],
                )
            except services.BookingError as error:
                refusal = _refusal(
                    error, client=visit.client, start=start, treatment=visit.treatment, moving=visit
                )
                for alternative in refusal["alternatives"]:
                    query = urlencode(
                        {"start": alternative["param"], "therapist": alternative["therapist"].pk}
                    )
                    alternative["url"] = f"{reverse('front_desk:move', args=[pk])}?{query}"
            else:
                new_start = timezone.localtime(moved.starts_at)
                messages.success(
                    request,
                    f"Moved {visit.client} to {new_start:%A %-d %B} at {new_start:%H:%M} with "
                    f"{moved.therapist}. We will email them.",
                )
                return redirect(_day_url(new_start.date(), moved.treatment))
        return render(
            request,
            "appointments/front_desk/move_confirm.html",
            {
                "section": "day",
                "appointment": visit,
                "form": MoveForm(),
                "start": timezone.localtime(start),
                "start_param": format_start(start),
                "back_url": f"{reverse('front_desk:move', args=[pk])}?"
                + urlencode({"start": format_start(start), "therapist": therapist.pk}),
                "end": timezone.localtime(start + visit.treatment.duration),
                "therapist": therapist,
                "refusal": refusal,
                "client_has_email": client_services.has_email(visit.client.user),
            },
        )
    form = DayBookForm(request.GET)
    date = form.cleaned_data.get("date") if form.is_valid() else None
    date = date or max(_local_day(visit.starts_at), timezone.localdate())
    if not EARLIEST_DAY <= date <= LATEST_DAY:
        date = timezone.localdate()
    # Whose free times: the client's therapist unless another is asked for, or "any"
    # (each free time once, with the first therapist free then). Every therapist's every
    # time would be a chain's thousand links on one page.
    qualified = list(
        Therapist.objects.active()
        .filter(treatments=visit.treatment)
        .order_by("display_name", "pk")
        .only("pk", "display_name")
    )
    whose = _whose(request.GET.get("whose"), visit, qualified)
    search = {
        "treatment": visit.treatment,
        "first_day": date,
        "last_day": date,
        "client_id": visit.client_id,
        "ignore_appointment_id": visit.pk,
        "by_staff": True,
    }
    if whose is None:
        slots = free_times.free_starts(**search)
    else:
        slots = free_times.free_slots(**search, therapist_id=whose.pk)
    move_url = reverse("front_desk:move", args=[pk])
    times = []
    for time in _times_with_therapists(slots):
        query = urlencode({"start": time["param"], "therapist": time["therapist"].pk})
        times.append({**time, "url": f"{move_url}?{query}"})
    kept = {"whose": whose.pk if whose else "any"}
    return render(
        request,
        "appointments/front_desk/move.html",
        {
            "section": "day",
            "appointment": visit,
            "date": date,
            "times": times,
            "whose": whose,
            "qualified": qualified,
            "previous_url": f"{move_url}?"
            + urlencode({"date": date - datetime.timedelta(days=1), **kept}),
            "next_url": f"{move_url}?"
            + urlencode({"date": date + datetime.timedelta(days=1), **kept}),
        },
    )


def _whose(asked: str | None, visit: Appointment, qualified: list[Therapist]) -> Therapist | None:
    """The therapist whose free times the move page shows (None: any therapist)."""
    by_pk = {str(therapist.pk): therapist for therapist in qualified}
    if asked == "any":
        return None
    if asked in by_pk:
        return by_pk[asked]
    return by_pk.get(str(visit.therapist_id))
