from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from appointments.models import Treatment


def home(request: HttpRequest) -> HttpResponse:
    treatments = list(Treatment.objects.offered_online())
    return render(
        request,
        "home.html",
        {
            "back_walking_treatments": [t for t in treatments if t.is_back_walking],
            "other_treatments": [t for t in treatments if not t.is_back_walking],
        },
    )


def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    # Resolved per request: the hashed name exists only after collectstatic.
    return redirect(static("favicon.svg"), permanent=True)
