from django.contrib import admin
from django.urls import include, path

from . import views

# A database that cannot be reached answers 503 with Retry-After; anything else is a 500.
handler500 = "spa_booking.database_unavailable.server_error"

urlpatterns = [
    # First: a filtered admin list resolves each row's link again (Django's
    # add_preserved_filters), and behind the site's six includes every one of those
    # tried all their patterns first: 240 us a row on a slow machine, 117 us from here.
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", views.favicon),
    path("", include("clients.urls")),
    path("", include("clients.two_factor_urls")),
    path("", include("appointments.urls")),
    path("", include("screening.urls")),
    path("", include("appointments.schedule_urls")),
    path("", include("appointments.front_desk.urls")),
]
