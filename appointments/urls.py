import datetime

from django.urls import path, register_converter

from . import views, waitlist_views


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> datetime.date:
        return datetime.date.fromisoformat(value)  # ValueError (31 Feb) means no match: 404

    def to_url(self, value: datetime.date) -> str:
        return value.isoformat()


register_converter(IsoDateConverter, "date")

app_name = "appointments"

urlpatterns = [
    path("treatments/", views.treatment_list, name="treatments"),
    path("treatments/<slug:slug>/", views.treatment_detail, name="treatment"),
    path("treatments/<slug:slug>/<date:day>/", views.day_times, name="day"),
    path("book/<slug:slug>/", views.book, name="book"),
    path("appointments/", views.my_appointments, name="mine"),
    path("appointments/<int:pk>/", views.appointment_detail, name="detail"),
    path("appointments/<int:pk>/booked/", views.booked, name="booked"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path(
        "appointments/<int:pk>/reschedule/confirm/",
        views.reschedule_confirm,
        name="reschedule_confirm",
    ),
    path("appointments/<int:pk>/calendar.ics", views.calendar_file, name="calendar_file"),
    path("waitlist/join/<slug:slug>/", waitlist_views.join, name="waitlist_join"),
    path("waitlist/<int:pk>/leave/", waitlist_views.leave, name="waitlist_leave"),
    path("waitlist/offers/<str:token>/", waitlist_views.offer, name="waitlist_offer"),
]
