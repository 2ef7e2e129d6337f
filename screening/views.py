import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from appointments.services.holds import Change
from clients.age import first_adult_day, is_adult_on
from clients.models import Client

from . import services
from .eligibility import current_screening
from .forms import ScreeningForm
from .models import HealthScreening

OUTCOME_MESSAGES = {
    HealthScreening.Outcome.CLEARED: "Thank you. You are cleared for back-walking.",
    HealthScreening.Outcome.NEEDS_REVIEW: "Thank you. Our staff will review your answers, "
    "usually within a day, and email you.",
    HealthScreening.Outcome.NOT_ELIGIBLE: "Thank you. Your answers show that back-walking is "
    "not safe for you at the moment.",
    HealthScreening.Outcome.NOT_ELIGIBLE_UNTIL: "Thank you. After your recent injury, surgery "
    "or childbirth, back-walking has to wait a little.",
    HealthScreening.Outcome.DOCTORS_NOTE: "Thank you. Before back-walking, we need a note from "
    "your doctor saying it is safe for you. Please call us when you have it.",
}


def _tell_what_changed(request: HttpRequest, submission: services.Submission) -> None:
    """What the new screening did to the client's upcoming back-walking appointments."""
    for reconsidered in submission.appointments:
        appointment = reconsidered.appointment
        start = timezone.localtime(appointment.starts_at)
        what = f"Your back-walking appointment on {start:%A %-d %B} at {start:%H:%M}"
        if reconsidered.change == Change.CANCELLED:
            messages.warning(request, f"{what} is cancelled. {appointment.cancellation_reason}")
        elif reconsidered.change == Change.HELD:
            expires = timezone.localtime(appointment.hold_expires_at)
            messages.warning(
                request,
                f"{what} is on hold until our staff have reviewed your new health screening. "
                "We email you as soon as it is decided; if it is not decided by "
                f"{expires:%A %-d %B} at {expires:%H:%M}, the hold is released.",
            )
        elif reconsidered.change == Change.CONFIRMED:
            messages.success(request, f"{what} is confirmed.")


def _client_or_redirect(request: HttpRequest) -> Client | HttpResponse:
    client = Client.objects.of(request.user)
    if client is None:
        messages.info(request, "Only client accounts have a health screening.")
        return redirect("clients:account")
    return client


def _safe_next(request: HttpRequest) -> str | None:
    """The page to go on to after the screening: a path on this site, or nothing.

    Only a path: redirect() takes anything without a slash for the name of a URL
    pattern, so "next=0" would fail after the screening was saved."""
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return None


@never_cache
@login_required
def my_screening(request: HttpRequest) -> HttpResponse:
    client = _client_or_redirect(request)
    if isinstance(client, HttpResponse):
        return client
    screening = current_screening(client)
    return render(
        request,
        "screening/my_screening.html",
        {
            "screening": screening,
            "expired": screening is not None and screening.valid_until < timezone.localdate(),
        },
    )


@functools.cache
def blank_questions() -> str:
    """The questionnaire's fields as a new, unbound form renders them. They are the same
    for every client (no answers, no errors, no initial value that depends on who or
    when), and rendering them is most of the page: some forty fields through crispy's
    templates, about 35 ms on a slow machine. So each process renders them once; a deploy
    starts new processes. A form sent back with errors is rendered afresh."""
    return render_to_string("screening/_questions.html", {"form": ScreeningForm()})


@never_cache
@sensitive_post_parameters()
@login_required
def new_screening(request: HttpRequest) -> HttpResponse:
    """The questionnaire. A booking in progress passes `next`, to carry on afterwards."""
    client = _client_or_redirect(request)
    if isinstance(client, HttpResponse):
        return client
    if not is_adult_on(client.date_of_birth, timezone.localdate()):
        # Back-walking is for adults only: no health questions for what they cannot book yet.
        return render(
            request,
            "screening/new_screening.html",
            {"adult_from": first_adult_day(client.date_of_birth), "client": client},
        )
    form = ScreeningForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.submit_screening(
                client=client,
                answers=form.answers(),
                signature_name=form.cleaned_data["signature_name"],
                consent=form.cleaned_data["consent"],
            )
        except services.ScreeningError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, OUTCOME_MESSAGES[submission.screening.outcome])
            _tell_what_changed(request, submission)
            return redirect(_safe_next(request) or "screening:mine")
    return render(
        request,
        "screening/new_screening.html",
        {
            "form": form,
            "blank_questions": None if form.is_bound else blank_questions(),
            "next": _safe_next(request),
            "client": client,
        },
    )
