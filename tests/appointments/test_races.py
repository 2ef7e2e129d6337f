"""Double booking is impossible, shown with real concurrent connections.

Every race releases many bookings at the same instant, each on its own PostgreSQL
connection (a forked process, or a request to one of two app servers), then checks
that exactly one appointment exists, that everyone else was told in words that the
time is gone, and that no two active appointments overlap anywhere.

The tests use committed data (transaction=True): a rolled-back test transaction is
invisible to the other connections, so it could not show a race at all.
"""

import datetime
import html
import http.client
import http.cookies
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django.test import Client as HttpClient
from django.utils import timezone

from appointments import free_times, services
from appointments.forms import format_start
from appointments.models import Appointment
from clients.models import Client
from tests.notices import deliver_owed_notices
from tests.scheduling import Spa, open_spa_around_the_clock

RACERS = 20
# A lost race shows up only sometimes; a few rounds make it show up in one run.
ROUNDS = 3
# What a person who lost the race reads: taken, not available, or busy, try again.
READABLE_REFUSAL = re.compile(r"just taken|not available|try again")


# -- the invariant, straight from PostgreSQL ---------------------------------------------------

OVERLAPS = """
    SELECT a.id, b.id, a.therapist_id = b.therapist_id, a.room_id = b.room_id,
           a.client_id = b.client_id
      FROM appointments_appointment a
      JOIN appointments_appointment b
        ON a.id < b.id
       AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(b.starts_at, b.blocked_until)
       AND (a.therapist_id = b.therapist_id OR a.room_id = b.room_id
            OR a.client_id = b.client_id)
     WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""


def overlapping_active_appointments() -> list[tuple]:
    """Pairs of active appointments that share a therapist, room or client at the same time.

    Asked in SQL rather than through the ORM so that it checks the stored rows, whatever
    the application code believes.
    """
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        return cursor.fetchall()


def free_starts(spa: Spa, *, rounds: int) -> list[datetime.datetime]:
    """A free noon start on each of the next days, one per round, so rounds never share a slot.

    Three days ahead is well past the minimum notice and well inside the booking horizon.
    """
    starts = []
    for offset in range(3, 3 + rounds):
        day = timezone.localdate() + datetime.timedelta(days=offset)
        slots = free_times.free_slots(treatment=spa.treatment, first_day=day, last_day=day)
        noon = next(slot.start for slot in slots if timezone.localtime(slot.start).hour == 12)
        # Every therapist must really be free then, or a refusal would prove nothing.
        free = {slot.therapist_id for slot in slots if slot.start == noon}
        assert free == {therapist.pk for therapist in spa.therapists}
        starts.append(noon)
    return starts


# -- racing processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str  # "booked", "refused" or "crashed"
    detail: str | int  # the appointment id, the message shown, or the traceback


def _book_in_child(
    book: Callable[[], Appointment],
    barrier: Barrier,
    outcomes: Queue,
) -> None:
    try:
        # Connect before the barrier, so that the race is between bookings, not handshakes.
        connection.ensure_connection()
        barrier.wait(timeout=30)
        appointment = book()
    except services.BookingError as error:
        outcomes.put(Outcome("refused", error.message))
    except BaseException:
        outcomes.put(Outcome("crashed", traceback.format_exc()))
    else:
        outcomes.put(Outcome("booked", appointment.pk))
    finally:
        connections.close_all()


def race_in_processes(bookings: list[Callable[[], Appointment]]) -> list[Outcome]:
    """Run each booking in its own forked process and connection, all released at once."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(bookings))
    outcomes = context.Queue()
    # A forked child must open its own connection, never share the parent's socket.
    connections.close_all()
    processes = [
        context.Process(target=_book_in_child, args=(book, barrier, outcomes)) for book in bookings
    ]
    for process in processes:
        process.start()
    try:
        return [outcomes.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def assert_one_booked(outcomes: list[Outcome], start: datetime.datetime) -> Appointment:
    """Exactly one winner, everyone else refused in words, and the database agrees."""
    assert [o.detail for o in outcomes if o.kind == "crashed"] == []
    booked = [o.detail for o in outcomes if o.kind == "booked"]
    refusals = [o.detail for o in outcomes if o.kind == "refused"]
    assert len(booked) == 1, outcomes
    assert len(refusals) == len(outcomes) - 1
    assert [m for m in refusals if not READABLE_REFUSAL.search(m)] == []
    assert list(Appointment.objects.filter(starts_at=start).values_list("pk", flat=True)) == booked
    assert overlapping_active_appointments() == []
    return Appointment.objects.get(pk=booked[0])


@pytest.mark.django_db(transaction=True)
def test_twenty_clients_racing_for_one_therapist_get_one_appointment():
    # Three equipped rooms, so only the therapist can be the bottleneck.
    spa = open_spa_around_the_clock(therapists=1, clients=RACERS, equipped_rooms=3)
    therapist = spa.therapists[0]

    for start in free_starts(spa, rounds=ROUNDS):
        outcomes = race_in_processes(
            [
                partial(
                    services.book_appointment,
                    client=client,
                    treatment=spa.treatment,
                    start=start,
                    therapist=therapist,
                )
                for client in spa.clients
            ]
        )

        appointment = assert_one_booked(outcomes, start)
        assert appointment.therapist_id == therapist.pk

    assert Appointment.objects.count() == ROUNDS


@pytest.mark.django_db(transaction=True)
def test_twenty_therapists_sharing_the_only_equipped_room_get_one_appointment():
    # Plain rooms are free at every time; the treatment's equipment rules them out.
    spa = open_spa_around_the_clock(
        therapists=RACERS, clients=RACERS, equipped_rooms=1, plain_rooms=2
    )
    room = spa.rooms[0]

    for start in free_starts(spa, rounds=ROUNDS):
        outcomes = race_in_processes(
            [
                partial(
                    services.book_appointment,
                    client=client,
                    treatment=spa.treatment,
                    start=start,
                    therapist=therapist,
                )
                for client, therapist in zip(spa.clients, spa.therapists, strict=True)
            ]
        )

        appointment = assert_one_booked(outcomes, start)
        assert appointment.room_id == room.pk

    assert Appointment.objects.count() == ROUNDS


@pytest.mark.django_db(transaction=True)
def test_one_client_booking_ten_therapists_at_once_gets_one_appointment():
    # Enough rooms and therapists for all ten, so only the client's own overlap can refuse them.
    spa = open_spa_around_the_clock(therapists=10, clients=1, equipped_rooms=10)
    client = spa.clients[0]

    for start in free_starts(spa, rounds=ROUNDS):
        outcomes = race_in_processes(
            [
                partial(
                    services.book_appointment,
                    client=client,
                    treatment=spa.treatment,
                    start=start,
                    therapist=therapist,
                )
                for therapist in spa.therapists
            ]
        )

        appointment = assert_one_booked(outcomes, start)
        assert appointment.client_id == client.pk

    assert Appointment.objects.filter(client=client).count() == ROUNDS


@pytest.mark.django_db(transaction=True)
def test_the_same_form_sent_five_times_at_once_books_once_and_answers_with_that_appointment():
    # A double click, or a browser retrying a slow POST: the person sees the answer to the
    # last submission, so every submission must lead to the one appointment.
    spa = open_spa_around_the_clock(therapists=1, clients=1, equipped_rooms=1)

    for start in free_starts(spa, rounds=ROUNDS):
        resubmit = partial(
            services.book_appointment,
            client=spa.clients[0],
            treatment=spa.treatment,
            start=start,
            therapist=spa.therapists[0],
            booking_token=uuid.uuid4(),
        )
        outcomes = race_in_processes([resubmit] * 5)

        [appointment] = Appointment.objects.filter(starts_at=start)
        assert outcomes == [Outcome("booked", appointment.pk)] * 5


# -- two app servers -------------------------------------------------------------------------


@dataclass
class AppServer:
    port: int
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Response:
    status: int
    location: str
    body: str
    cookies: dict[str, str]


def call(
    server: AppServer,
    method: str,
    path: str,
    *,
    cookies: dict[str, str],
    form: dict[str, str] | None = None,
) -> Response:
    """One plain HTTP request: no redirects followed, cookies passed by hand."""
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        jar = http.cookies.SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return Response(
            status=answer.status,
            location=answer.getheader("Location", ""),
            body=answer.read().decode(),
            cookies={name: morsel.value for name, morsel in jar.items()},
        )
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    """The URL of pytest-django's test database, so the servers see the rows the test made."""
    database = settings.DATABASES["default"]
    credentials = quote(database["USER"])
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"])
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'])}"


def _wait_until_answering(server: AppServer, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn on port {server.port} exited:\n{server.log_text()}")
        try:
            if call(server, "GET", "/treatments/", cookies={}).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn on port {server.port} did not answer:\n{server.log_text()}")


@pytest.fixture
def app_servers(transactional_db, tmp_path) -> Iterator[list[AppServer]]:
    """Two gunicorn instances, two workers each, on the test database: four app processes."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_HTTPS": "off",
        "DJANGO_DEBUG": "off",
        "DJANGO_STATIC_MANIFEST": "off",
        # No mail server runs beside the tests: the console backend would write any email
        # to the server log, where the test checks that no request sends one.
        "EMAIL_URL": "consolemail://",
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    servers = []
    try:
        for number in range(2):
            port = _free_port()
            log = tmp_path / f"gunicorn-{number}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [gunicorn, "spa_booking.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                    cwd=settings.BASE_DIR,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers.append(AppServer(port=port, log=log, process=process))
        deadline = time.monotonic() + 30
        for server in servers:
            _wait_until_answering(server, deadline)
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def _hidden(name: str, page: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"no {name} in the booking page"
    return match.group(1)


def _alert(page: str) -> str:
    """The message in the page's warning box: what the person who lost the race reads."""
    match = re.search(r'class="alert alert-warning"[^>]*>\s*<p[^>]*>([^<]+)</p>', page)
    assert match, page
    return html.unescape(match.group(1))


@dataclass
class Booker:
    """One logged-in client with a filled-in confirmation form, ready to press the button."""

    client: Client
    server: AppServer
    path: str
    cookies: dict[str, str]
    form: dict[str, str]
    response: Response | None = None


@pytest.mark.django_db(transaction=True)
def test_twenty_clients_posting_to_two_app_servers_at_once_get_one_appointment(app_servers):
    # One equipped room and a few therapists: clients race for the room and for therapists.
    spa = open_spa_around_the_clock(therapists=4, clients=RACERS, equipped_rooms=1, plain_rooms=1)
    [start] = free_starts(spa, rounds=1)
    bookers = []
    for number, client in enumerate(spa.clients):
        # The session lives in PostgreSQL, so either app server accepts it.
        login = HttpClient()
        login.force_login(client.user)
        therapist = spa.therapists[number % len(spa.therapists)]
        path = f"/book/{spa.treatment.slug}/"
        query = urlencode({"start": format_start(start), "therapist": therapist.pk})
        server = app_servers[number % 2]
        cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
        page = call(server, "GET", f"{path}?{query}", cookies=cookies)
        assert page.status == 200, server.log_text()
        cookies[settings.CSRF_COOKIE_NAME] = page.cookies[settings.CSRF_COOKIE_NAME]
        form = {
            "csrfmiddlewaretoken": _hidden("csrfmiddlewaretoken", page.body),
            "start": _hidden("start", page.body),
            "therapist": _hidden("therapist", page.body),
            "booking_token": _hidden("booking_token", page.body),
        }
        bookers.append(Booker(client=client, server=server, path=path, cookies=cookies, form=form))

    barrier = threading.Barrier(len(bookers))

    def press_confirm(booker: Booker) -> None:
        barrier.wait(timeout=30)
        booker.response = call(
            booker.server, "POST", booker.path, cookies=booker.cookies, form=booker.form
        )

    threads = [threading.Thread(target=press_confirm, args=(booker,)) for booker in bookers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    logs = "\n".join(server.log_text() for server in app_servers)
    responses = [booker.response for booker in bookers]
    assert None not in responses, logs
    statuses = [response.status for response in responses]
    assert (statuses.count(302), statuses.count(409)) == (1, RACERS - 1), (statuses, logs)
    assert Appointment.objects.filter(starts_at=start).count() == 1
    appointment = Appointment.objects.get(starts_at=start)
    [winner] = [booker for booker in bookers if booker.response.status == 302]
    assert winner.response.location == f"/appointments/{appointment.pk}/booked/"
    assert appointment.client_id == winner.client.pk
    # No request sent an email; the outbox owes one confirmation, to the winner, and
    # none to anyone who lost.
    assert "Subject:" not in logs
    deliver_owed_notices()
    assert [(m.to, m.subject.startswith("Your booking at")) for m in mail.outbox] == [
        ([appointment.client.user.email], True)
    ]
    refusals = [_alert(booker.response.body) for booker in bookers if booker is not winner]
    assert [message for message in refusals if not READABLE_REFUSAL.search(message)] == []
    # The other app server shows the winner their appointment too.
    other = app_servers[1 - app_servers.index(winner.server)]
    assert call(other, "GET", winner.response.location, cookies=winner.cookies).status == 200
    assert overlapping_active_appointments() == []
