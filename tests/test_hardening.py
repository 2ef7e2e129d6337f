"""Bad input never gives a 500; a database outage gives a 503; no health data in admin
links; the headers every response carries."""

import http.client
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib import admin
from django.core import mail
from django.db import OperationalError, connection
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse

from appointments.models import Appointment, PreSessionCheck
from screening.models import HealthScreening
from spa_booking import database_unavailable
from spa_booking.client_address import client_address
from tests.factories import ClientFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import form_data, screen

ROOT = Path(__file__).resolve().parent.parent


# The visitor's address


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "198.51.100.7", "203.0.113.5"),  # no proxy: the header is a lie
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "192.0.2.1, 198.51.100.7", "198.51.100.7"),  # the left is made up
        (2, "10.0.0.3", "192.0.2.1, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "10.0.0.3", "198.51.100.7", "10.0.0.3"),  # came past only one of the proxies
        (1, "10.0.0.2", "2001:db8::7", "2001:db8::7"),
        (1, "10.0.0.2", "not-an-address", None),
        (0, "", "", None),
    ],
)
def test_the_visitors_address_is_the_nth_from_the_right_behind_n_proxies(
    settings, proxies, remote, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected


# A NUL character: PostgreSQL refuses it in text, so no request carrying one reaches a view.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query"),
    [
        (reverse("admin:appointments_appointment_changelist"), {"q": "\x00"}),
        (reverse("admin:appointments_appointment_changelist"), {"status": "\x00"}),
        (reverse("admin:screening_healthscreening_changelist"), {"review__exact": "\x00"}),
        (
            reverse("admin:autocomplete"),
            {
                "app_label": "appointments",
                "model_name": "appointment",
                "field_name": "client",
                "term": "\x00",
            },
        ),
        (reverse("admin:clients_user_changelist"), {"q": "ana\x00"}),
    ],
)
def test_a_nul_in_the_admins_search_filters_or_autocomplete_is_a_bad_request(
    staff_http, url, query
):
    staff_http.raise_request_exception = False

    response = staff_http.get(url, query)

    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_in_the_calendar_feeds_token_is_a_bad_request():
    spa = open_spa()
    token = spa.therapist.feed_token
    http = HttpClient(raise_request_exception=False)
    assert http.get(reverse("schedule:feed", args=[token])).status_code == 200

    response = http.get(reverse("schedule:feed", args=[token[:5] + "\x00" + token[5:]]))

    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_a_nul_in_a_therapists_stop_reason_is_a_bad_request_and_records_nothing(ana):
    spa = open_spa()
    appointment = _booked(spa, ana, at(TOMORROW, 10))
    therapist = HttpClient(raise_request_exception=False)
    therapist.force_login(spa.therapist.user)

    with time_machine.travel(at(TOMORROW, 9, 30), tick=False):
        response = therapist.post(
            reverse("schedule:check", args=[appointment.pk]),
            {"outcome": "stopped", "reason": "Pain in the\x00 lower back"},
        )

    assert response.status_code == 400
    assert not PreSessionCheck.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [reverse("clients:login"), reverse("admin:login")])
def test_a_nul_in_a_login_is_a_bad_request(client_account, url):
    response = HttpClient(raise_request_exception=False).post(
        url, {"username": "ana@example.com\x00", "password": "guess-guess-guess"}
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_nul_in_a_cookie_or_header_is_a_bad_request():
    http = HttpClient(raise_request_exception=False)
    http.cookies["sessionid"] = "abc\x00def"

    assert http.get("/").status_code == 400
    assert HttpClient().get("/", HTTP_USER_AGENT="Mozilla\x00").status_code == 400


@pytest.mark.django_db
def test_ordinary_requests_pass_the_guard(client):
    assert client.get("/", {"q": "zero 0 and 0x00 are fine"}).status_code == 200


# The admin: ids that are not ids, years the calendar has no end for


def _registered_admins():
    return [
        pytest.param(model, id=f"{model._meta.app_label}.{model._meta.model_name}")
        for model in admin.site._registry
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("model", _registered_admins())
def test_no_admin_action_fails_on_a_selected_row_that_is_not_an_id(staff_http, model):
    staff_http.raise_request_exception = False
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    actions = model_admin.get_actions(staff_http.get(url).wsgi_request)

    for action in actions:
        response = staff_http.post(url, {"action": action, "_selected_action": ["1", "abc"]})
        assert response.status_code == 400, action


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", [p for p in _registered_admins() if admin.site._registry[p.values[0]].date_hierarchy]
)
@pytest.mark.parametrize(
    "span",
    [
        {"year": "9999"},
        {"year": "9999", "month": "12"},
        {"year": "9999", "month": "12", "day": "31"},
    ],
)
def test_no_date_drill_down_fails_past_the_end_of_the_calendar(staff_http, model, span):
    staff_http.raise_request_exception = False
    field = admin.site._registry[model].date_hierarchy
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = staff_http.get(url, {f"{field}__{part}": value for part, value in span.items()})

    assert response.status_code == 400
    assert staff_http.get(url, {f"{field}__year": "2026"}).status_code == 200


@pytest.mark.django_db
def test_an_object_id_that_is_not_a_number_is_a_bad_request(staff_http):
    staff_http.raise_request_exception = False
    for view in ("change", "history", "delete"):
        url = reverse(f"admin:appointments_appointment_{view}", args=["abc"])
        assert staff_http.get(url).status_code == 400, view


# After a screening, "next" is a path on this site or nothing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target", ["0", "clients:account", "javascript:alert(1)", "//evil.example/"]
)
def test_a_next_that_is_no_path_goes_to_my_screening_after_saving_it(
    logged_in, client_account, target
):
    response = logged_in.post(
        reverse("screening:new"), {**form_data(client_account), "next": target}
    )

    assert response.status_code == 302
    assert response.url == reverse("screening:mine")
    assert HealthScreening.objects.filter(client=client_account).count() == 1


# PostgreSQL down


@pytest.fixture
def database_down(monkeypatch, settings):
    """The default connection points at a port where no PostgreSQL listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port))
    monkeypatch.setattr(database_unavailable, "_last_logged", -1e9)
    settings.ADMINS = [("Ops", "ops@spa.example")]
    yield
    connection.close()


@pytest.mark.usefixtures("database_down")
def test_without_the_database_pages_answer_503_with_retry_after_and_mail_no_one(
    django_db_blocker, caplog
):
    http = HttpClient(raise_request_exception=False)
    with django_db_blocker.unblock(), caplog.at_level(logging.ERROR):
        responses = [http.get(path) for path in ("/", "/treatments/", "/", "/treatments/")]
        # A page that needs no database still opens.
        assert http.get(reverse("clients:login")).status_code == 200

    assert [r.status_code for r in responses] == [503, 503, 503, 503]
    assert responses[0]["Retry-After"] == "30"
    page = responses[0].content.decode()
    assert "We are back in a moment" in page
    assert settings.SPA_PHONE in page
    assert mail.outbox == []  # no error email per request, nor at all
    outage_logs = [r for r in caplog.records if "database is unavailable" in r.getMessage()]
    assert len(outage_logs) == 1


def test_other_errors_are_still_500s():
    lock_timeout = OperationalError("canceling statement due to lock timeout")
    # What psycopg2 raises for PostgreSQL's SQLSTATE 55P03 (lock_not_available).
    lock_timeout.__cause__ = type("LockNotAvailable", (Exception,), {"pgcode": "55P03"})()
    for error in (ValueError("a bug"), lock_timeout):
        try:
            raise error
        except Exception:
            response = database_unavailable.server_error(RequestFactory().get("/"))
        assert response.status_code == 500


# No health data in URLs


OUTCOME_VALUES = [value for value in HealthScreening.Outcome.values]


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_no_screening_admin_link_carries_an_outcome(reviewer_http):
    screen(ClientFactory(full_name="Cleo Cleared"))
    screen(ClientFactory(full_name="Rae Review"), back_pain_under_care="yes")
    screen(ClientFactory(full_name="Nell Noteligible"), pregnant="yes")
    pages = [
        reverse("admin:screening_healthscreening_changelist"),
        reverse("admin:screening_healthscreening_changelist") + "?review__exact=pending",
        reverse("admin:screening_screeningtoreview_changelist"),
    ]
    pages += [
        reverse("admin:screening_healthscreening_change", args=[pk])
        for pk in HealthScreening.objects.values_list("pk", flat=True)
    ]
    links = []
    for page in pages:
        response = reviewer_http.get(page)
        assert response.status_code == 200, page
        links += re.findall(r'(?:href|action)="([^"]*)"', response.content.decode())

    assert links
    carrying = [link for link in links if "outcome" in link or _names_an_outcome(link)]
    assert carrying == []


def _names_an_outcome(link: str) -> bool:
    return any(re.search(rf"[=%]{re.escape(value)}\b", link) for value in OUTCOME_VALUES)


# Headers


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", reverse("admin:login"), "/?x=%00", "/no-such-page/"])
def test_every_response_denies_the_browsers_powerful_features(client, path):
    client.raise_request_exception = False
    response = client.get(path)

    policy = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_gunicorn_started_as_the_readme_says_names_no_server(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_HTTPS": "off",
        "DJANGO_STATIC_MANIFEST": "off",
    }
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [gunicorn, "--config", "gunicorn.conf.py", "spa_booking.wsgi"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        headers = _headers_of(port, "/favicon.ico", server, log)
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert headers.get("Location", "").endswith("favicon.svg")  # the app answered
    assert "Server" not in headers
    assert "Permissions-Policy" in headers


def _headers_of(port: int, path: str, server: subprocess.Popen, log: Path) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection_.request("GET", path)
            return dict(connection_.getresponse().getheaders())
        except OSError:
            time.sleep(0.1)
        finally:
            connection_.close()
    pytest.fail(f"gunicorn did not answer:\n{log.read_text(errors='replace')}")


def _booked(spa, client, start) -> Appointment:
    from appointments.services import book_appointment

    return book_appointment(client=client, treatment=spa.treatment, start=start, now=NOW)
