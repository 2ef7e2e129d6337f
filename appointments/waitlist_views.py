"""The client's waitlist pages: joining, leaving, and the link in an offer's email.

Staff see and add entries in the admin (appointments.admin.WaitlistEntryAdmin); the rules
are in appointments.waitlist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clients.models import Client

from . import services, waitlist
from .forms import WaitlistForm
from .models import Treatment, WaitlistEntry, WaitlistOffer
from .services.gate import day_of
from .views import _confirm_url, _times


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    treatment = get_object_or_404(Treatment.objects.active(), slug=slug)
    client = Client.objects.of(request.user)
    if client is None:
        messages.error(
            request,
            "Only client accounts can join the waitlist online. Staff add a caller in the spa "
            "admin.",
        )
        return redirect("appointments:treatment", slug=slug)
    form = WaitlistForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect("appointments:treatment", slug=slug)
    try:
        entry = waitlist.join_waitlist(
            client=client,
            treatment=treatment,
            first_day=form.cleaned_data["first_day"],
            last_day=form.cleaned_data["last_day"],
            therapist=form.cleaned_data["therapist"],
        )
    except services.BookingError as error:
        messages.error(request, error.message)
        return redirect("appointments:treatment", slug=slug)
    messages.success(
        request,
        f"You are on the waitlist for {treatment.name} on {waitlist.days_phrase(entry)}. "
        "We will email you as soon as a time comes free.",
    )
    return redirect("appointments:mine")


@login_required
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(
        WaitlistEntry.objects.select_related("treatment"), pk=pk, client__user=request.user
    )
    try:
        waitlist.leave_waitlist(entry=entry)
    except services.BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"You have left the waitlist for {entry.treatment.name} on "
            f"{waitlist.days_phrase(entry)}.",
        )
    return redirect("appointments:mine")


@login_required
def offer(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an offer's email. Still free: on to the normal confirm page, where the
    first to book has it. Otherwise say so kindly, with the day's other free times."""
    found = get_object_or_404(
        WaitlistOffer.objects.select_related(
            "entry__client", "entry__treatment", "entry__therapist"
        ),
        token=token,
        entry__client__user=request.user,  # another person's link looks like no link
    )
    entry = found.entry
    status = waitlist.offer_status(found)
    if status == waitlist.OfferStatus.OPEN:
        messages.info(
            request,
            "This time is still free. Confirm below to book it: whoever books first has it.",
        )
        return redirect(_confirm_url(entry.treatment, found.starts_at, entry.therapist))
    day = day_of(found.starts_at)
    shown = status != waitlist.OfferStatus.NOT_FOR_YOU and entry.treatment.is_active
    return render(
        request,
        "appointments/waitlist/offer.html",
        {
            "offer": found,
            "entry": entry,
            "status": status,
            "treatment": entry.treatment,
            "therapist": entry.therapist,
            "starts_at": timezone.localtime(found.starts_at),
            "date": day,
            "times": _times(waitlist.free_times_of(entry, day)) if shown else [],
            "still_waiting": entry.is_active and entry.last_day >= timezone.localdate(),
        },
    )
