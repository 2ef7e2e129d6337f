from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/scale/insert/", views.insert, name="bench-scale-insert"),
    path("", include("bench.urls")),
]
