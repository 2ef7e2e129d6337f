from django.contrib import admin
from django.urls import include, path

from . import views

# A database that cannot be reached answers 503 with Retry-After; anything else is a 500.
handler500 = "spa_booking.database_unavailable.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", views.favicon),
    path("", include("clients.urls")),
    path("", include("clients.two_factor_urls")),
    path("", include("appointments.urls")),
    path("", include("screening.urls")),
    path("", include("appointments.schedule_urls")),
    path("", include("appointments.front_desk.urls")),
    path("admin/", admin.site.urls),
]
