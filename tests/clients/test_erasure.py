"""Erasure: a client asks from "My account"; staff carry it out (or refuse, saying why).

Erasing scrubs the person (name, contact details, email, date of birth, login) and
their health records (screenings with every answer, signature, note and decision; a
therapist's stop reason; cancellation reasons), cancels what is still to come, and
keeps anonymous appointment rows so the spa's history and counts stay whole.
"""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Appointment, PreSessionCheck, Qualification
from appointments.services import book_appointment
from appointments.visits import complete_appointment, record_pre_session_check
from clients import services
from clients.models import AccessRecord, Client, DateOfBirthCorrection, ErasureRequest, User
from screening.models import HealthScreening, ScreeningDecision
from screening.services import approve_screening
from tests.factories import PASSWORD, ClientFactory, TreatmentFactory, UserFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, Spa, at, open_spa
from tests.screenings import review_url, screen
from tests.two_factor import force_login_verified

pytestmark = pytest.mark.django_db

LATER = datetime.date(2026, 12, 5)
ERASE_AT = at(TOMORROW, 16)
ACCOUNT = reverse("clients:account")
ACCOUNT_LOGIN = reverse("clients:login")
ASK = reverse("clients:request_erasure")


@pytest.fixture
def spa() -> Spa:
    spa = open_spa(name="Ashiatsu", back_walking=True)
    swedish = TreatmentFactory(name="Swedish massage")
    Qualification.objects.create(therapist=spa.therapist, treatment=swedish)
    spa.swedish = swedish
    return spa


@pytest.fixture
def ana(spa, staff_user, reviewer) -> Client:
    """Ana's history by 16:00 tomorrow: a reviewer cleared her migraine; her therapist
    stopped her back-walking session (dizzy, new tablets), which sent her screening back
    to review, and a reviewer read it; a Swedish massage done, one booked for Saturday;
    staff corrected her date of birth."""
    ana = ClientFactory(
        full_name="Ana Lindqvist",
        user__email="ana@example.com",
        phone="07700 900456",
        date_of_birth=datetime.date(1991, 4, 9),
    )
    therapist = spa.therapist.user
    with time_machine.travel(NOW, tick=False):
        screening = screen(
            ana, areas_to_avoid="left shoulder", other_conditions="Migraine with aura"
        )
        approve_screening(screening=screening, by=reviewer, note="Migraine under control")
        stopped = book(ana, spa.treatment, at(TOMORROW, 10), spa)
        done = book(ana, spa.swedish, at(TOMORROW, 13), spa)
        services.correct_date_of_birth(
            client=ana,
            new_date_of_birth=datetime.date(1991, 4, 19),
            corrected_by=staff_user,
            reason="Passport shown at reception",
        )
    with time_machine.travel(at(TOMORROW, 9, 50), tick=False):
        record_pre_session_check(
            appointment=stopped, by=therapist, nothing_changed=False, reason="Dizzy, new tablets"
        )
    with time_machine.travel(at(TOMORROW, 14, 30), tick=False):
        complete_appointment(appointment=done, by=therapist)
        book(ana, spa.swedish, at(LATER, 10), spa)
        deliver_owed_notices()
        reviewer_http = force_login_verified(HttpClient(), reviewer)
        assert reviewer_http.get(review_url(ana.screenings.get())).status_code == 200
    mail.outbox.clear()
    return ana


def book(client, treatment, start, spa) -> Appointment:
    return book_appointment(
        client=client,
        treatment=treatment,
        start=start,
        therapist=spa.therapist,
        health_unchanged=treatment.is_back_walking,
    )


def erase(client: Client, by: User) -> ErasureRequest:
    with time_machine.travel(ERASE_AT, tick=False):
        return services.erase_client(client=client, by=by)


# The person


def test_erasure_scrubs_the_person_and_closes_the_login(ana, staff_user):
    user_id = ana.user_id

    erase(ana, staff_user)

    ana = Client.objects.select_related("user").get(pk=ana.pk)
    assert (ana.full_name, ana.phone, ana.date_of_birth) == (
        f"Erased client #{ana.pk}",
        "",
        datetime.date(1900, 1, 1),
    )
    assert ana.erased_at == ERASE_AT
    assert ana.user.email == f"erased-{user_id}@invalid"
    assert not ana.user.has_usable_password()
    assert not ana.user.is_active
    assert not DateOfBirthCorrection.objects.filter(client=ana).exists()
    http = HttpClient()
    refused = http.post(ACCOUNT_LOGIN, {"username": "ana@example.com", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with its error
    assert http.get(ACCOUNT).status_code == 302


def test_an_erased_clients_open_session_ends(ana, staff_user):
    http = HttpClient()
    http.force_login(ana.user)

    erase(ana, staff_user)

    assert http.get(ACCOUNT).url.startswith(reverse("clients:login"))


def test_failed_login_records_of_the_address_go_too(ana, staff_user):
    AccessAttempt.objects.create(
        username="ana@example.com", ip_address="203.0.113.9", failures_since_start=2
    )
    AccessAttempt.objects.create(
        username="otto@example.com", ip_address="203.0.113.9", failures_since_start=1
    )

    erase(ana, staff_user)

    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["otto@example.com"]


def test_the_admin_history_no_longer_names_the_client(ana, staff_user):
    for obj in (ana, ana.user):
        LogEntry.objects.create(
            user=staff_user,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj),
            action_flag=CHANGE,
        )

    erase(ana, staff_user)

    reprs = list(LogEntry.objects.values_list("object_repr", flat=True))
    assert not [r for r in reprs if "Ana" in r or "ana@" in r]


# The health records


def test_erasure_deletes_the_screenings_and_their_decisions(ana, staff_user):
    other = screen(ClientFactory(full_name="Otto Other"))

    erase(ana, staff_user)

    assert list(HealthScreening.objects.all()) == [other]
    assert not ScreeningDecision.objects.filter(screening__client=ana).exists()


def test_erasure_keeps_anonymous_appointments_without_their_health_text(ana, staff_user):
    erase(ana, staff_user)

    appointments = Appointment.objects.filter(client=ana).order_by("starts_at")
    assert [(a.treatment.name, a.status) for a in appointments] == [
        ("Ashiatsu", Appointment.Status.CANCELLED),
        ("Swedish massage", Appointment.Status.COMPLETED),
        ("Swedish massage", Appointment.Status.CANCELLED),
    ]
    assert {(a.cancellation_reason, a.screening_id, a.needs_follow_up) for a in appointments} == {
        ("", None, False)
    }
    check = PreSessionCheck.objects.get(appointment__client=ana)
    assert (check.outcome, check.reason) == (PreSessionCheck.Outcome.STOPPED, "(erased)")


def test_upcoming_appointments_are_cancelled_and_nobody_is_emailed(ana, staff_user):
    erase(ana, staff_user)

    saturday = Appointment.objects.get(client=ana, starts_at=at(LATER, 10))
    assert saturday.status == Appointment.Status.CANCELLED
    assert saturday.cancelled_at == ERASE_AT
    with time_machine.travel(ERASE_AT + datetime.timedelta(minutes=1), tick=False):
        deliver_owed_notices()
    assert mail.outbox == []


def test_a_held_booking_is_released_with_its_screening(spa, staff_user):
    with time_machine.travel(NOW, tick=False):
        held_client = ClientFactory()
        screen(held_client, back_pain_under_care=True)
        held = book(held_client, spa.treatment, at(TOMORROW, 10), spa)
        assert held.status == Appointment.Status.PENDING_REVIEW
        services.erase_client(client=held_client, by=staff_user)

    held.refresh_from_db()
    assert (held.status, held.screening) == (Appointment.Status.CANCELLED, None)


def test_the_access_record_is_kept_and_no_longer_says_whose(ana, staff_user):
    erase(ana, staff_user)

    [record] = AccessRecord.objects.all()
    assert record.viewed_by.email == "reviewer@example.com"
    assert record.client_id == ana.pk
    assert str(record.client) == f"Erased client #{ana.pk}"


# The request and the refusals


def test_erasure_carries_out_the_open_request(ana, staff_user):
    with time_machine.travel(NOW, tick=False):
        asked = services.request_erasure(client=ana)

    done = erase(ana, staff_user)

    assert done.pk == asked.pk
    assert (done.state, done.decided_by, done.decided_at) == (
        ErasureRequest.State.CARRIED_OUT,
        staff_user,
        ERASE_AT,
    )


def test_an_erasure_without_a_request_is_recorded_as_carried_out(ana, staff_user):
    erase(ana, staff_user)

    [record] = ErasureRequest.objects.all()
    assert (record.client, record.state, record.requested_at) == (
        ana,
        ErasureRequest.State.CARRIED_OUT,
        ERASE_AT,
    )


def test_erasing_twice_is_refused(ana, staff_user):
    erase(ana, staff_user)

    with pytest.raises(services.AccountError, match="already erased"):
        erase(ana, staff_user)


def test_a_client_who_is_also_staff_is_not_erased(staff_user):
    colleague = ClientFactory(user__is_staff=True, full_name="Cleo Colleague")

    with pytest.raises(services.AccountError, match="logs in as staff or as a therapist"):
        services.erase_client(client=colleague, by=staff_user)

    colleague.refresh_from_db()
    assert colleague.full_name == "Cleo Colleague"


@pytest.mark.django_db(transaction=True)
def test_the_screening_escape_ends_with_the_erasures_transaction(staff_user):
    erased = ClientFactory()
    screen(erased)
    kept = screen(ClientFactory())

    services.erase_client(client=erased, by=staff_user)

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('spa.erasing_client', true)")
        assert cursor.fetchone()[0] in ("", None)
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthScreening.objects.filter(pk=kept.pk).delete()


def test_a_failure_half_way_erases_nothing(ana, staff_user, monkeypatch):
    def broken(**kwargs):
        raise IntegrityError("the mail table is locked")

    monkeypatch.setattr(services.AccessLog.objects, "filter", broken)

    with pytest.raises(IntegrityError):
        erase(ana, staff_user)

    ana.refresh_from_db()
    assert ana.full_name == "Ana Lindqvist"
    assert ana.screenings.count() == 1


# Nowhere to be seen


@pytest.fixture
def at_erasure_time():
    # Staff sessions end after SPA_STAFF_SESSION_HOURS: staff log in when they look.
    with time_machine.travel(ERASE_AT, tick=False):
        yield


@pytest.mark.usefixtures("at_erasure_time")
def test_after_erasure_the_name_and_answers_appear_on_no_page(ana, spa, staff_user):
    staff_http = force_login_verified(HttpClient(), staff_user)
    therapist = force_login_verified(HttpClient(), spa.therapist.user)
    pages = [
        (staff_http, reverse("admin:clients_client_changelist"), {}),
        (staff_http, reverse("admin:clients_client_change", args=[ana.pk]), {}),
        (staff_http, reverse("admin:clients_user_changelist"), {}),
        (staff_http, reverse("admin:appointments_appointment_changelist"), {}),
        (staff_http, reverse("admin:screening_healthscreening_changelist"), {}),
        (staff_http, reverse("admin:index"), {}),
        (therapist, reverse("schedule:week"), {"date": TOMORROW.isoformat()}),
        (therapist, reverse("schedule:day"), {"date": TOMORROW.isoformat()}),
    ]
    before = page_text(pages)
    assert "Ana Lindqvist" in before
    assert "left shoulder" in before

    services.erase_client(client=ana, by=staff_user)

    after = page_text(pages)
    for personal in [
        "Ana Lindqvist",
        "ana@example.com",
        "07700 900456",
        "left shoulder",
        "Migraine",
        "Dizzy",
        "1991",
        "Passport",
    ]:
        assert personal not in after
    assert f"Erased client #{ana.pk}" in after


def page_text(pages) -> str:
    texts = []
    for http, url, params in pages:
        response = http.get(url, params)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return "\n".join(texts)


# Asking, from "My account"


def test_a_client_asks_for_erasure_from_my_account(logged_in, client_account):
    assert ASK in logged_in.get(ACCOUNT).content.decode()
    assert "cannot send it to you" in logged_in.get(ASK).content.decode()

    response = logged_in.post(ASK)

    assert response.url == ACCOUNT
    [asked] = ErasureRequest.objects.all()
    assert (asked.client, asked.state) == (client_account, ErasureRequest.State.REQUESTED)
    assert "You asked us to delete your data on" in logged_in.get(ACCOUNT).content.decode()


def test_asking_twice_makes_one_request(logged_in, client_account):
    logged_in.post(ASK)

    response = logged_in.post(ASK, follow=True)

    assert ErasureRequest.objects.count() == 1
    assert "You have already asked us to delete your data" in response.content.decode()


def test_the_client_sees_why_a_request_was_refused(logged_in, client_account, staff_user):
    asked = services.request_erasure(client=client_account)
    services.refuse_erasure(
        erasure_request=asked, by=staff_user, reason="We keep accident records for 3 years."
    )

    html = logged_in.get(ACCOUNT).content.decode()

    assert "We could not: We keep accident records for 3 years." in html
    assert ASK in html  # they may ask again


def test_a_refusal_needs_a_reason_and_an_open_request(client_account, staff_user):
    asked = services.request_erasure(client=client_account)

    with pytest.raises(services.AccountError, match="Say why"):
        services.refuse_erasure(erasure_request=asked, by=staff_user, reason="  ")
    services.refuse_erasure(erasure_request=asked, by=staff_user, reason="Insurance")
    with pytest.raises(services.AccountError, match="already decided"):
        services.refuse_erasure(erasure_request=asked, by=staff_user, reason="Insurance")


def test_the_database_refuses_a_second_open_request(client_account):
    ErasureRequest.objects.create(client=client_account)

    with pytest.raises(IntegrityError, match="clients_erasurerequest_one_open_per_client"):
        ErasureRequest.objects.create(client=client_account)


def test_the_database_refuses_a_refusal_without_a_reason(client_account, staff_user):
    with pytest.raises(IntegrityError, match="clients_erasurerequest_refusal_has_reason"):
        ErasureRequest.objects.create(
            client=client_account,
            state=ErasureRequest.State.REFUSED,
            decided_by=staff_user,
            decided_at=NOW,
        )


def test_the_database_refuses_a_decision_without_who_and_when(client_account):
    with pytest.raises(IntegrityError, match="clients_erasurerequest_decision_recorded"):
        ErasureRequest.objects.create(client=client_account, state=ErasureRequest.State.CARRIED_OUT)


def test_the_screening_page_says_how_to_have_the_answers_deleted(logged_in, client_account):
    screen(client_account)

    assert ASK in logged_in.get(reverse("screening:mine")).content.decode()


# Staff decide, in the admin


def decision_url(erasure_request: ErasureRequest) -> str:
    return reverse("admin:clients_erasurerequest_change", args=[erasure_request.pk])


@pytest.mark.usefixtures("at_erasure_time")
def test_staff_carry_out_a_request_in_the_admin(ana, staff_user):
    asked = services.request_erasure(client=ana)
    staff_http = force_login_verified(HttpClient(), staff_user)

    response = staff_http.post(decision_url(asked), {"decision": "erase", "reason": ""})

    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.state == ErasureRequest.State.CARRIED_OUT
    assert Client.objects.get(pk=ana.pk).is_erased


def test_staff_refuse_a_request_with_a_reason(client_account, staff_http):
    asked = services.request_erasure(client=client_account)

    empty = staff_http.post(decision_url(asked), {"decision": "refuse", "reason": ""})
    assert "Say why the erasure is refused" in empty.content.decode()
    staff_http.post(decision_url(asked), {"decision": "refuse", "reason": "Insurance records"})

    asked.refresh_from_db()
    assert (asked.state, asked.refusal_reason) == (
        ErasureRequest.State.REFUSED,
        "Insurance records",
    )
    assert not Client.objects.get(pk=client_account.pk).is_erased


def test_staff_record_a_request_made_by_phone(client_account, staff_http):
    response = staff_http.post(
        reverse("admin:clients_erasurerequest_add"), {"client": client_account.pk}
    )

    assert response.status_code == 302
    assert ErasureRequest.objects.get().client == client_account


def test_only_staff_with_the_permission_decide(client_account):
    asked = services.request_erasure(client=client_account)
    front_desk_user = UserFactory(is_staff=True)
    front_desk = force_login_verified(HttpClient(), front_desk_user)
    assert front_desk.post(decision_url(asked), {"decision": "erase"}).status_code == 403

    front_desk_user.user_permissions.add(Permission.objects.get(codename="decide_erasurerequest"))
    manager = force_login_verified(HttpClient(), User.objects.get(pk=front_desk_user.pk))
    manager.post(decision_url(asked), {"decision": "erase"})

    assert Client.objects.get(pk=client_account.pk).is_erased


def test_an_erased_client_cannot_be_edited_back(ana, staff_user, staff_http):
    erase(ana, staff_user)
    url = reverse("admin:clients_client_change", args=[ana.pk])

    staff_http.post(url, {"full_name": "Ana Lindqvist", "phone": "07700 900456"})

    assert Client.objects.get(pk=ana.pk).full_name == f"Erased client #{ana.pk}"
