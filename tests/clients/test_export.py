"""The right of access: a client downloads everything the spa holds on them (a page to
read and a JSON file), and staff produce the same for a request made by phone.
Every export is recorded in the client's access record."""

import datetime
import json

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Notice, WaitlistOffer
from appointments.services import book_appointment
from appointments.waitlist import join_waitlist
from clients.models import AccessRecord
from screening.models import HealthScreening
from screening.services import approve_screening
from tests.factories import ClientFactory, TherapistFactory, UserFactory
from tests.notices import deliver_owed_notices
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import review_url, screen, version_1_answers
from tests.two_factor import force_login_verified

pytestmark = pytest.mark.django_db

PAGE = reverse("clients:my_data")
DOWNLOAD = reverse("clients:my_data_download")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def history(client_account, reviewer, reviewer_http):
    """Ana's back pain held her back-walking for a review; a reviewer looked and approved."""
    spa = open_spa(name="Ashiatsu", back_walking=True)
    screening = screen(
        client_account, back_pain_under_care=True, other_conditions="Sciatica since May"
    )
    book_appointment(
        client=client_account,
        treatment=spa.treatment,
        start=at(TOMORROW, 10),
        therapist=spa.therapist,
        health_unchanged=True,
    )
    assert reviewer_http.get(review_url(screening)).status_code == 200
    approve_screening(screening=screening, by=reviewer, note="Physio letter seen")
    deliver_owed_notices()
    return screening


def download(http: HttpClient) -> dict:
    response = http.get(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="spa-data-2026-12-01.json"'
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def test_the_file_holds_profile_appointments_screenings_emails_and_who_looked(history, logged_in):
    data = download(logged_in)

    assert data["profile"] | {"signed_up_at": None, "last_login_at": None} == {
        "full_name": "Ana Example",
        "email": "ana@example.com",
        "phone": "07700 900123",
        "date_of_birth": "1990-03-27",
        "signed_up_at": None,
        "last_login_at": None,
    }
    [appointment] = data["appointments"]
    assert (appointment["treatment"], appointment["status"]) == ("Ashiatsu", "Confirmed")
    assert appointment["starts_at"] == "2026-12-02T10:00:00Z"
    [screening] = data["health_screenings"]
    assert screening["questionnaire_version"] == 2
    assert screening["signature"] == "Ana Example"
    assert screening["review"] == "Approved"
    answers = {answer["question"]: answer for answer in screening["answers"]}
    back_pain = answers["Is a doctor or physiotherapist treating you for back pain at the moment?"]
    assert (back_pain["answer"], back_pain["value"]) == ("Yes", True)
    assert "Sciatica since May" in [answer["value"] for answer in screening["answers"]]
    assert [(d["decision"], d["note"]) for d in screening["decisions"]] == [
        ("Approved", "Physio letter seen")
    ]
    # The decision came before the sender ran, so the held email was no longer needed.
    assert sorted((email["kind"], email["status"]) for email in data["emails"]) == [
        ("Booking confirmation", "sent"),
        ("Held for the health review", "not sent (replaced by a later email, or no longer needed)"),
        ("Screening decision", "sent"),
    ]
    assert [(r["viewed_by"], r["what"]) for r in data["access_record"]] == [
        ("reviewer@example.com (spa staff)", "screening answers")
    ]


def test_the_page_shows_the_same_to_read(history, logged_in):
    response = logged_in.get(PAGE)

    html = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "Sciatica since May" in html
    assert "Physio letter seen" in html
    assert "reviewer@example.com (spa staff)" in html
    assert DOWNLOAD in html


def test_every_export_is_recorded_as_seen_by_the_client(client_account, logged_in):
    logged_in.get(PAGE)
    logged_in.get(DOWNLOAD)

    assert (
        list(AccessRecord.objects.values_list("client", "viewed_by", "kind"))
        == [(client_account.pk, client_account.user_id, AccessRecord.Kind.EXPORT)] * 2
    )
    assert [r["viewed_by"] for r in download(logged_in)["access_record"]] == ["you", "you"]


def test_the_file_names_who_looked_a_therapist_by_name_and_staff_by_address(
    client_account, logged_in
):
    therapist = TherapistFactory(display_name="Maya")
    staff = UserFactory(email="desk@example.com", is_staff=True)
    for who, kind in (
        (therapist.user, AccessRecord.Kind.SCHEDULE),
        (staff, AccessRecord.Kind.SCREENING_LIST),
    ):
        AccessRecord.objects.create(client=client_account, viewed_by=who, kind=kind)

    looked = [(r["viewed_by"], r["what"]) for r in download(logged_in)["access_record"]]

    # Newest first (this export is recorded once the file is made).
    assert looked == [
        ("desk@example.com (spa staff)", "screening in a list (outcome and reasons)"),
        ("Maya (your therapist)", "health summary on schedule"),
    ]


def test_another_clients_data_is_never_in_the_export(client_account, logged_in):
    screen(ClientFactory(full_name="Otto Other"), other_conditions="Otto's gout")
    screen(client_account, other_conditions="Ana's migraine")

    text = logged_in.get(DOWNLOAD).content.decode()

    assert "Ana's migraine" in text
    assert "Otto" not in text


def test_every_email_to_the_client_is_listed_whatever_it_was_about(client_account, logged_in):
    """Emails about an appointment, a screening, a waitlist offer and the account itself: each
    names its client a different way, and the export finds them all (and no one else's)."""
    spa = open_spa(name="Swedish", back_walking=False)
    book_appointment(client=client_account, treatment=spa.treatment, start=at(TOMORROW, 10))
    screening = screen(client_account)
    Notice.objects.create(kind=Notice.Kind.DECISION, screening=screening, revision=1)
    entry = join_waitlist(
        client=client_account, treatment=spa.treatment, first_day=TOMORROW, last_day=TOMORROW
    )
    offer = WaitlistOffer.objects.create(
        entry=entry, starts_at=at(TOMORROW, 14), expires_at=NOW + datetime.timedelta(hours=2)
    )
    Notice.objects.create(kind=Notice.Kind.WAITLIST_OFFER, waitlist_offer=offer, revision=0)
    Notice.objects.create(kind=Notice.Kind.PASSWORD_RESET, user=client_account.user, revision=0)
    other = ClientFactory()
    book_appointment(client=other, treatment=spa.treatment, start=at(TOMORROW, 12))
    Notice.objects.create(kind=Notice.Kind.PASSWORD_RESET, user=other.user, revision=0)

    data = download(logged_in)

    assert sorted(email["kind"] for email in data["emails"]) == [
        "Booking confirmation",
        "Password reset link",
        "Screening decision",
        "Waitlist: a time came free",
    ]
    [waiting] = data["waitlist"]
    assert (waiting["treatment"], waiting["therapist"], waiting["state"]) == (
        "Swedish",
        "Any",
        "Waiting",
    )
    assert [o["starts_at"] for o in waiting["times_offered"]] == ["2026-12-02T14:00:00Z"]
    assert "Waitlist" in logged_in.get(PAGE).content.decode()


def test_a_version_1_screening_exports_the_questions_it_asked(client_account, logged_in):
    HealthScreening.objects.create(
        client=client_account,
        questionnaire_version=1,
        answers=VERSION_1_ANSWERS,
        signature_name="Ana Example",
        consented_at=NOW,
        outcome=HealthScreening.Outcome.NEEDS_REVIEW,
        valid_until=datetime.date(2027, 11, 1),
        review=HealthScreening.Review.PENDING,
    )

    [screening] = download(logged_in)["health_screenings"]

    assert len(screening["answers"]) == len(VERSION_1_ANSWERS)
    assert {
        "question": "Have you had surgery in the last 6 months?",
        "answer": "Yes, on 3 November 2026",
        "value": "2026-11-03",
    } in screening["answers"]


def test_accounts_without_a_client_profile_have_nothing_to_export(staff_user):
    http = force_login_verified(HttpClient(), UserFactory(email="maya@example.com"))

    assert http.get(DOWNLOAD).url == reverse("clients:account")
    assert not AccessRecord.objects.exists()


def test_logged_out_visitors_are_sent_to_log_in(client):
    assert client.get(DOWNLOAD).url.startswith(reverse("clients:login"))


# Staff, for a request made by phone


def staff_export(client) -> str:
    return reverse("admin:clients_client_export", args=[client.pk])


def staff_download(client) -> str:
    return reverse("admin:clients_client_export_download", args=[client.pk])


def test_a_reviewer_produces_the_same_export_and_it_is_recorded(
    history, client_account, reviewer_http
):
    page = reviewer_http.get(staff_export(client_account))
    response = reviewer_http.get(staff_download(client_account))

    assert "Sciatica since May" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert json.loads(response.content)["profile"]["email"] == "ana@example.com"
    exports = AccessRecord.objects.filter(kind=AccessRecord.Kind.EXPORT)
    assert [r.viewed_by.email for r in exports] == ["reviewer@example.com"] * 2


def test_staff_without_the_health_permission_cannot_export(client_account):
    front_desk = force_login_verified(HttpClient(), UserFactory(is_staff=True))

    assert front_desk.get(staff_export(client_account)).status_code == 403
    assert front_desk.get(staff_download(client_account)).status_code == 403
    assert not AccessRecord.objects.exists()


def test_the_clients_admin_page_links_the_export_for_superusers(client_account, staff_http):
    html = staff_http.get(
        reverse("admin:clients_client_change", args=[client_account.pk])
    ).content.decode()

    assert staff_export(client_account) in html
    assert staff_download(client_account) in html


VERSION_1_ANSWERS = version_1_answers(
    blood_pressure="controlled",
    disc_disorder=True,
    surgery_on="2026-11-03",
    other_conditions="Sciatica",
    pressure_preference="light",
)
