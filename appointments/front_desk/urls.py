from django.urls import path

from . import views

app_name = "front_desk"

urlpatterns = [
    path("front-desk/", views.today, name="today"),
    path("front-desk/day/", views.day, name="day"),
    path("front-desk/book/", views.book, name="book"),
    path("front-desk/book/new-client/", views.new_client, name="new_client"),
    path("front-desk/clients/<int:pk>/invite/", views.invite, name="invite"),
    path("front-desk/appointments/<int:pk>/", views.appointment, name="appointment"),
    path("front-desk/appointments/<int:pk>/move/", views.move, name="move"),
    path("front-desk/appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("front-desk/appointments/<int:pk>/arrived/", views.arrived, name="arrived"),
    path("front-desk/appointments/<int:pk>/completed/", views.complete, name="complete"),
    path("front-desk/appointments/<int:pk>/no-show/", views.no_show, name="no_show"),
    path("front-desk/appointments/<int:pk>/called/", views.called, name="called"),
]
