from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Spa Booking administration"
admin.site.site_title = "Spa Booking admin"
admin.site.index_title = "Run the spa"

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", views.favicon),
    path("", include("clients.urls")),
    path("", include("appointments.urls")),
    path("", include("screening.urls")),
    path("", include("appointments.schedule_urls")),
    path("admin/", admin.site.urls),
]
