import pytest
from django.core import mail
from django.urls import reverse

from appointments.models import Appointment
from appointments.services import book_appointment, reschedule_appointment
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def spa():
    return open_spa(therapists=1, rooms=1)


def add_data(spa, client, hour: int, minute: int = 0, therapist="") -> dict:
    return {
        "client": client.pk,
        "treatment": spa.treatment.pk,
        "start_0": TOMORROW.isoformat(),
        "start_1": f"{hour:02d}:{minute:02d}",
        "therapist": therapist,
    }


def test_staff_book_in_the_admin_through_the_booking_service(staff_http, spa):
    client = ClientFactory()

    response = staff_http.post(
        reverse("admin:appointments_appointment_add"), add_data(spa, client, 10)
    )
    deliver_owed_notices()

    assert response.status_code == 302, response.content.decode()[:3000]
    appointment = Appointment.objects.get()
    assert appointment.starts_at == at(TOMORROW, 10)
    assert appointment.blocked_until == at(TOMORROW, 11, 15)
    assert appointment.room == spa.room
    assert len(mail.outbox) == 1


def test_admin_booking_a_taken_time_shows_the_reason_and_keeps_the_form(staff_http, spa):
    book_appointment(client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10))
    client = ClientFactory()

    response = staff_http.post(
        reverse("admin:appointments_appointment_add"), add_data(spa, client, 10, 30)
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "That time is not available." in html
    assert 'value="10:30"' in html
    assert Appointment.objects.count() == 1


def test_admin_booking_outside_working_hours_is_refused(staff_http, spa):
    response = staff_http.post(
        reverse("admin:appointments_appointment_add"), add_data(spa, ClientFactory(), 20)
    )

    assert response.status_code == 200
    assert "That time is not available." in response.content.decode()
    assert not Appointment.objects.exists()


def test_staff_may_book_at_short_notice(staff_http, spa):
    response = staff_http.post(
        reverse("admin:appointments_appointment_add"),
        {**add_data(spa, ClientFactory(), 9), "start_0": "2026-12-01"},
    )

    assert response.status_code == 302
    assert Appointment.objects.get().starts_at == at(NOW.date(), 9)


def test_admin_moves_an_appointment_through_the_service(staff_http, spa):
    appointment = book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
    )
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])

    response = staff_http.post(
        url,
        {"start_0": TOMORROW.isoformat(), "start_1": "14:00", "therapist": spa.therapist.pk},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    appointment.refresh_from_db()
    assert appointment.starts_at == at(TOMORROW, 14)
    assert appointment.revision == 1


def test_admin_moving_into_a_taken_time_shows_an_error(staff_http, spa):
    appointment = book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
    )
    book_appointment(client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 14))
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])

    response = staff_http.post(
        url,
        {"start_0": TOMORROW.isoformat(), "start_1": "14:30", "therapist": spa.therapist.pk},
    )

    assert response.status_code == 200
    assert "That time is not available." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.starts_at == at(TOMORROW, 10)


def test_admin_cancel_action_uses_the_service_and_nothing_is_deletable(staff_http, spa):
    appointment = book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
    )
    changelist = reverse("admin:appointments_appointment_changelist")

    staff_http.post(changelist, {"action": "cancel_selected", "_selected_action": [appointment.pk]})

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    delete = reverse("admin:appointments_appointment_delete", args=[appointment.pk])
    assert staff_http.post(delete, {"post": "yes"}).status_code == 403
    assert Appointment.objects.filter(pk=appointment.pk).exists()


@pytest.mark.parametrize("day", ["today", "tomorrow", "next7", "past"])
def test_admin_list_filters_by_day_therapist_room_and_status(staff_http, spa, day):
    book_appointment(client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10))
    changelist = reverse("admin:appointments_appointment_changelist")

    response = staff_http.get(
        changelist,
        {"day": day, "therapist__id__exact": spa.therapist.pk, "status__exact": "confirmed"},
    )

    assert response.status_code == 200
    shown = "1 appointment" in response.content.decode()
    assert shown == (day in ("tomorrow", "next7"))


def test_the_therapist_and_room_filters_are_drop_downs_that_keep_the_other_filters(
    staff_http,
):
    spa = open_spa(therapists=3, rooms=2)
    maya, noor, _ = spa.therapists
    book_appointment(
        client=ClientFactory(full_name="Ana Maya"),
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=maya,
    )
    book_appointment(
        client=ClientFactory(full_name="Ben Noor"),
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=noor,
    )
    changelist = reverse("admin:appointments_appointment_changelist")

    html = staff_http.get(changelist, {"status__exact": "confirmed"}).content.decode()
    chosen = staff_http.get(
        changelist, {"status__exact": "confirmed", "therapist__id__exact": noor.pk}
    ).content.decode()

    # One form per long filter: the list's other parameters ride along, hidden.
    assert '<select name="therapist__id__exact"' in html
    assert '<select name="room__id__exact"' in html
    assert '<input type="hidden" name="status__exact" value="confirmed">' in html
    assert f'<option value="{noor.pk}">{noor}</option>' in html
    assert f'<option value="{noor.pk}" selected>{noor}</option>' in chosen
    assert "Ben Noor" in chosen and "Ana Maya" not in chosen
    # The rows' checkboxes are Django's own markup.
    assert 'class="action-select" aria-label="Select this object for an action - ' in chosen


def test_admin_searches_appointments_by_client(staff_http, spa):
    client = ClientFactory(full_name="Zelda Searchable")
    book_appointment(client=client, treatment=spa.treatment, start=at(TOMORROW, 10))

    response = staff_http.get(
        reverse("admin:appointments_appointment_changelist"), {"q": "Searchable"}
    )

    assert "Zelda Searchable" in response.content.decode()


def test_staff_see_whether_and_when_the_client_was_emailed(staff_http, spa):
    appointment = book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
    )
    deliver_owed_notices()
    reschedule_appointment(appointment=appointment, start=at(TOMORROW, 14))
    url = reverse("admin:appointments_appointment_change", args=[appointment.pk])

    page = staff_http.get(url).content.decode()

    assert "Booking confirmation of 01 Dec 2026 08:00: sent 01 Dec 2026 08:00" in page
    assert "New time of 01 Dec 2026 08:00: waiting, next try 01 Dec 2026 08:00" in page
    assert 'name="notices' not in page  # a record to read, not a form to edit


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_the_admin_page_of_a_cancelled_or_past_appointment_opens_read_only(staff_http, spa, status):
    appointment = book_appointment(
        client=ClientFactory(), treatment=spa.treatment, start=at(TOMORROW, 10)
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        status=status, cancelled_at=NOW if status == "cancelled" else None
    )

    response = staff_http.get(
        reverse("admin:appointments_appointment_change", args=[appointment.pk])
    )

    assert response.status_code == 200
    assert 'name="start_0"' not in response.content.decode()
    saved = staff_http.post(
        reverse("admin:appointments_appointment_change", args=[appointment.pk]), {}
    )
    assert saved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == status
