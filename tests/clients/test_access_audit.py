"""Every view of a client's health data is recorded: who, when, whose, what, from where.

The record is append-only: the admin offers no change or delete, and PostgreSQL
refuses UPDATE and DELETE on every path (raw SQL included). Only reviewers and
superusers see it.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from psycopg2 import errorcodes

from appointments.models import Qualification, WorkingHours
from appointments.services import book_appointment
from clients.models import AccessRecord
from tests.factories import ClientFactory, UserFactory
from tests.scheduling import NOW, TOMORROW, Spa, at, open_spa
from tests.screenings import review_url, screen
from tests.two_factor import force_login_verified

pytestmark = pytest.mark.django_db

APPEND_ONLY = "clients_accessrecord_append_only"
RECORDS = reverse("admin:clients_accessrecord_changelist")


@pytest.fixture
def pia():
    return ClientFactory(full_name="Pia Patient", user__email="pia@example.com")


@pytest.fixture
def record(pia, reviewer) -> AccessRecord:
    return AccessRecord.objects.create(
        client=pia, viewed_by=reviewer, kind=AccessRecord.Kind.SCREENING_ANSWERS
    )


def execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def assert_refused(change) -> None:
    with pytest.raises(IntegrityError, match=APPEND_ONLY) as refused, transaction.atomic():
        change()
    assert refused.value.__cause__.pgcode == errorcodes.RESTRICT_VIOLATION
    assert refused.value.__cause__.diag.constraint_name == APPEND_ONLY


# PostgreSQL holds it


def test_raw_update_of_an_access_record_is_refused(record, staff_user):
    assert_refused(
        lambda: execute(
            "UPDATE clients_accessrecord SET viewed_by_id = %s WHERE id = %s",
            [staff_user.pk, record.pk],
        )
    )

    record.refresh_from_db()
    assert record.viewed_by.email == "reviewer@example.com"


def test_raw_delete_of_an_access_record_is_refused(record):
    assert_refused(lambda: execute("DELETE FROM clients_accessrecord WHERE id = %s", [record.pk]))

    assert AccessRecord.objects.filter(pk=record.pk).exists()


def test_orm_update_and_delete_are_refused_too(record):
    assert_refused(lambda: AccessRecord.objects.filter(pk=record.pk).update(kind="export"))
    assert_refused(record.delete)

    assert AccessRecord.objects.get(pk=record.pk).kind == AccessRecord.Kind.SCREENING_ANSWERS


def test_new_records_are_still_accepted(record, pia, reviewer):
    AccessRecord.objects.create(client=pia, viewed_by=reviewer, kind=AccessRecord.Kind.EXPORT)

    assert pia.access_records.count() == 2


def test_an_unknown_kind_is_refused(pia, reviewer):
    with pytest.raises(IntegrityError, match="clients_accessrecord_known_kind"):
        AccessRecord.objects.create(client=pia, viewed_by=reviewer, kind="peeked")


# The screening admin records


def test_opening_a_screening_records_who_saw_whose_answers_and_from_where(pia, reviewer_http):
    screening = screen(pia, areas_to_avoid="left shoulder")

    response = reviewer_http.get(review_url(screening), REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 200
    assert "left shoulder" in response.content.decode()
    record = AccessRecord.objects.get()
    assert (record.client, record.viewed_by.email, record.kind, record.address) == (
        pia,
        "reviewer@example.com",
        AccessRecord.Kind.SCREENING_ANSWERS,
        "203.0.113.7",
    )


def test_behind_the_proxy_the_record_holds_the_visitors_address(pia, reviewer_http, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    screening = screen(pia)

    reviewer_http.get(
        review_url(screening),
        REMOTE_ADDR="10.0.0.2",  # the proxy
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7",  # forged, then the visitor
    )

    assert AccessRecord.objects.get().address == "203.0.113.7"


def test_the_screening_list_records_each_client_shown_once(reviewer_http, pia):
    screen(pia)
    screen(pia, areas_to_avoid="left shoulder")
    other = ClientFactory(full_name="Otto Other")
    screen(other)

    response = reviewer_http.get(reverse("admin:screening_healthscreening_changelist"))

    assert response.status_code == 200
    assert sorted(
        AccessRecord.objects.filter(kind=AccessRecord.Kind.SCREENING_LIST).values_list(
            "client__full_name", flat=True
        )
    ) == ["Otto Other", "Pia Patient"]


def test_the_review_queue_records_the_clients_it_shows(reviewer_http, pia):
    screen(pia, back_pain_under_care=True)  # needs a review
    screen(ClientFactory(full_name="Otto Other"))  # cleared: not in the queue

    reviewer_http.get(reverse("admin:screening_screeningtoreview_changelist"))

    assert list(AccessRecord.objects.values_list("client__full_name", flat=True)) == ["Pia Patient"]


def test_staff_without_the_permission_see_no_answers_and_nothing_is_recorded(pia):
    screening = screen(pia)
    front_desk = force_login_verified(HttpClient(), UserFactory(is_staff=True))

    assert front_desk.get(review_url(screening)).status_code == 403
    assert not AccessRecord.objects.exists()


# Who sees the record


def test_reviewers_see_who_saw_a_clients_data_filtered_by_client(record, pia, reviewer_http):
    other = ClientFactory(full_name="Otto Other")
    AccessRecord.objects.create(
        client=other, viewed_by=record.viewed_by, kind=AccessRecord.Kind.EXPORT
    )

    html = reviewer_http.get(RECORDS, {"client__id__exact": pia.pk}).content.decode()

    assert "Pia Patient" in html
    assert "Otto Other" not in html


def test_the_record_is_read_only_in_the_admin(record, staff_http):
    change = reverse("admin:clients_accessrecord_change", args=[record.pk])
    delete = reverse("admin:clients_accessrecord_delete", args=[record.pk])

    assert staff_http.get(change).status_code == 200  # a superuser may look
    assert staff_http.post(change, {"kind": "export"}).status_code == 403
    assert staff_http.post(delete, {"post": "yes"}).status_code == 403
    assert staff_http.get(reverse("admin:clients_accessrecord_add")).status_code == 403
    record.refresh_from_db()
    assert record.kind == AccessRecord.Kind.SCREENING_ANSWERS


def test_other_staff_do_not_see_the_record(record):
    front_desk = force_login_verified(HttpClient(), UserFactory(is_staff=True))

    assert front_desk.get(RECORDS).status_code == 403


def test_the_clients_admin_page_shows_who_saw_their_data_to_reviewers(record, pia, reviewer_http):
    html = reviewer_http.get(reverse("admin:clients_client_change", args=[pia.pk])).content.decode()

    assert "who saw their health data" in html.lower()
    assert "reviewer@example.com" in html
    assert "screening answers" in html


def test_the_clients_admin_page_hides_it_from_staff_without_the_permission(record, pia):
    front_desk_user = UserFactory(is_staff=True)
    front_desk_user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_client", "change_client"])
    )
    front_desk = force_login_verified(HttpClient(), front_desk_user)

    html = front_desk.get(reverse("admin:clients_client_change", args=[pia.pk])).content.decode()

    assert "Pia Patient" in html
    assert "reviewer@example.com" not in html
    assert "who saw their health data" not in html.lower()


# The therapist's schedule records


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def spa(frozen) -> Spa:
    spa = open_spa(therapists=1, rooms=1, name="Ashiatsu", back_walking=True)
    WorkingHours.objects.filter(therapist=spa.therapist).update(
        starts_at=datetime.time(7), ends_at=datetime.time(22)
    )
    return spa


@pytest.fixture
def therapist_http(spa) -> HttpClient:
    return force_login_verified(HttpClient(), spa.therapist.user)


def back_walking_for(spa: Spa, client, hour: int, day=TOMORROW):
    screen(client, areas_to_avoid="left shoulder")
    return book_appointment(
        client=client,
        treatment=spa.treatment,
        start=at(day, hour),
        therapist=spa.therapist,
        health_unchanged=True,
    )


def test_the_week_records_each_client_whose_health_summary_it_shows(spa, therapist_http, pia):
    back_walking_for(spa, pia, 9)
    otto = ClientFactory(full_name="Otto Other")
    back_walking_for(spa, otto, 11)

    html = get_week(therapist_http)

    assert html.count("left shoulder") == 2
    records = AccessRecord.objects.all()
    assert sorted(r.client.full_name for r in records) == ["Otto Other", "Pia Patient"]
    assert {(r.viewed_by, r.kind, r.address) for r in records} == {
        (spa.therapist.user, AccessRecord.Kind.SCHEDULE, "127.0.0.1")
    }


def test_the_appointment_page_records_the_summary_it_shows(spa, therapist_http, pia):
    appointment = back_walking_for(spa, pia, 9)

    response = therapist_http.get(reverse("schedule:appointment", args=[appointment.pk]))

    assert "left shoulder" in response.content.decode()
    assert list(AccessRecord.objects.values_list("client", "kind")) == [
        (pia.pk, AccessRecord.Kind.SCHEDULE)
    ]


def test_nothing_is_recorded_when_no_health_summary_is_shown(spa, therapist_http, pia):
    swedish = open_spa(name="Swedish massage").treatment
    Qualification.objects.create(therapist=spa.therapist, treatment=swedish)
    book_appointment(client=pia, treatment=swedish, start=at(TOMORROW, 9), therapist=spa.therapist)

    assert "Pia Patient" in get_week(therapist_http)
    assert not AccessRecord.objects.exists()


def test_a_busy_week_writes_its_records_in_one_insert_like_a_quiet_one(spa, therapist_http):
    back_walking_for(spa, ClientFactory(), 7)
    quiet = week_queries(therapist_http)

    for n in range(12):
        day = TOMORROW + datetime.timedelta(days=n % 4)
        back_walking_for(spa, ClientFactory(), 9 + 2 * (n // 4), day=day)
    busy = week_queries(therapist_http)

    assert len(busy) == len(quiet)
    assert [q for q in busy if q.startswith('INSERT INTO "clients_accessrecord"')] == [
        q for q in busy if "clients_accessrecord" in q
    ]
    assert sum('INSERT INTO "clients_accessrecord"' in q for q in busy) == 1
    assert AccessRecord.objects.filter(kind=AccessRecord.Kind.SCHEDULE).count() == 1 + 13


def get_week(http: HttpClient) -> str:
    response = http.get(reverse("schedule:week"), {"date": TOMORROW.isoformat()})
    assert response.status_code == 200
    return response.content.decode()


def week_queries(http: HttpClient) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        get_week(http)
    return [query["sql"] for query in queries.captured_queries]
