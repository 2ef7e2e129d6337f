from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from appointments.models import Treatment


def home(request: HttpRequest) -> HttpResponse:
    treatments = list(Treatment.objects.active())
    return render(
        request,
        "home.html",
        {
            "back_walking_treatments": [t for t in treatments if t.is_back_walking],
            "other_treatments": [t for t in treatments if not t.is_back_walking],
        },
    )
