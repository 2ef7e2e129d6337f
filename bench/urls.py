from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/insert/", views.insert, name="bench-insert"),
    path("", include("spa_booking.urls")),
]
