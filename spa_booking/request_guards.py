"""Requests no view can answer are refused with 400 before any view sees them.

PostgreSQL refuses a NUL character in text, so a NUL anywhere a view might pass on
(the path, the query string, form data, a cookie, a header) would end in a database
error and a 500 page: the admin's search and filters, the calendar feed's token, a
therapist's stop reason. Nothing legitimate sends one, so no request carrying one
gets past this middleware.

The admin takes object ids, selected rows and date drill-downs from the URL and
hands them to the database unchecked: an id that is not a number, or a year past
9998, ends in a 500 there too. AdminInputMiddleware checks them against the
model's primary key and the calendar before the admin view runs.
"""

import datetime
from collections.abc import Callable, Iterable

from django.contrib.admin import ModelAdmin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NUL = "\x00"


def bad_request(request: HttpRequest) -> HttpResponse:
    # No database needed: this runs before the session and the user are loaded.
    return render(request, "400.html", status=400)


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _carries_nul(request):
            return bad_request(request)
        return self.get_response(request)


def _carries_nul(request: HttpRequest) -> bool:
    texts: list[Iterable[str]] = [
        [request.path_info],
        _keys_and_values(request.GET),
        request.COOKIES.keys(),
        request.COOKIES.values(),
        (value for key, value in request.META.items() if key.startswith("HTTP_")),
    ]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        texts.append(_keys_and_values(request.POST))
    return any(NUL in text for group in texts for text in group)


def _keys_and_values(data) -> Iterable[str]:
    for key, values in data.lists():
        yield key
        yield from values


class AdminInputMiddleware:
    """Checks what an admin view takes from the URL before it reaches the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        # Every ModelAdmin URL's view carries its ModelAdmin (ModelAdmin.get_urls).
        model_admin = getattr(view, "model_admin", None)
        if not isinstance(model_admin, ModelAdmin):
            return None
        ids = [kwargs["object_id"]] if "object_id" in kwargs else []
        if request.method == "POST":
            ids += request.POST.getlist(ACTION_CHECKBOX_NAME)
        if not (_are_ids_of(model_admin, ids) and _is_a_real_span(model_admin, request)):
            return bad_request(request)
        return None


def _are_ids_of(model_admin: ModelAdmin, ids: list[str]) -> bool:
    pk = model_admin.model._meta.pk
    try:
        for value in ids:
            pk.to_python(value)
    except ValidationError:
        return False
    return True


def _is_a_real_span(model_admin: ModelAdmin, request: HttpRequest) -> bool:
    """The date drill-down asks for a year, month or day whose end the calendar has:
    the admin computes the next year, month or day, past 9999 there is none."""
    field = model_admin.date_hierarchy
    if not field or f"{field}__year" not in request.GET:
        return True
    parts = [request.GET.get(f"{field}__{part}", "1") for part in ("year", "month", "day")]
    try:
        year, month, day = (int(part) for part in parts)
        # The largest step the admin takes past the day asked for: a year, plus a day
        # for the time zone's offset.
        datetime.date(year, month, day) + datetime.timedelta(days=367)
    except (ValueError, OverflowError):
        return False
    return True
