from django.urls import path

from . import schedule_views as views

app_name = "schedule"

urlpatterns = [
    path("schedule/", views.day, name="day"),
    path("schedule/week/", views.week, name="week"),
    path("schedule/appointments/<int:pk>/", views.appointment, name="appointment"),
    path("schedule/appointments/<int:pk>/check/", views.check, name="check"),
    path("schedule/appointments/<int:pk>/complete/", views.complete, name="complete"),
    path("schedule/appointments/<int:pk>/no-show/", views.no_show, name="no_show"),
    path("schedule/calendar/", views.calendar, name="calendar"),
    path("schedule/calendar/replace/", views.replace_feed, name="replace_feed"),
    path("schedule/feed/<str:token>.ics", views.feed, name="feed"),
]
