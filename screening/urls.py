from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("health-screening/", views.my_screening, name="mine"),
    path("health-screening/new/", views.new_screening, name="new"),
]
