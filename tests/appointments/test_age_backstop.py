"""PostgreSQL refuses an under-18 client in an active back-walking appointment.

The writes here are raw SQL, past every service, as a bug in one would write.
The constraint triggers are deferred to COMMIT; a test transaction never
commits, so `check()` runs them the way COMMIT would (SET CONSTRAINTS ALL
IMMEDIATE checks everything deferred so far, on the rows as they are now).
One transactional test shows the real COMMIT refusing.
"""

import datetime
import threading

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from psycopg2 import errorcodes

from appointments import free_times, services
from appointments.db_functions import sync_spa_time_zone
from appointments.models import Appointment
from clients.services import correct_date_of_birth as correct_date_of_birth_service
from tests.concurrency import in_thread, wait_for_a_lock_waiter
from tests.factories import ClientFactory
from tests.scheduling import at, open_spa
from tests.screenings import screen

pytestmark = pytest.mark.django_db

RULE = "appointments_appointment_back_walking_adult"
D = datetime.date


def check() -> None:
    """Run the deferred constraint triggers now, as COMMIT would, then defer again
    (every deferrable constraint here is INITIALLY DEFERRED), so later writes in the
    test wait for the next check, as they would wait for COMMIT."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def insert(
    spa,
    client,
    *,
    start: datetime.datetime,
    booked: datetime.datetime,
    status: str = "confirmed",
    screening=None,
) -> int:
    """An appointment written straight into the table; returns its id."""
    treatment = spa.treatment
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO appointments_appointment (client_id, therapist_id, treatment_id,"
            " room_id, starts_at, ends_at, blocked_until, status, cancelled_at, screening_id,"
            " hold_expires_at, created_at, updated_at, revision, cancellation_reason,"
            " needs_follow_up)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', false)"
            " RETURNING id",
            [
                client.pk,
                spa.therapist.pk,
                treatment.pk,
                spa.room.pk,
                start,
                start + treatment.duration,
                start + treatment.duration + treatment.buffer,
                status,
                booked if status == "cancelled" else None,
                screening.pk if screening else None,
                start - datetime.timedelta(days=1) if status == "pending_review" else None,
                booked,
                booked,
            ],
        )
        return cursor.fetchone()[0]


def execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def assert_refused(write, *, reason: str = "") -> None:
    """`write` is accepted by its statement, and refused when the deferred check runs."""
    with pytest.raises(IntegrityError, match=RULE) as refused, transaction.atomic():
        write()
        check()
    error = refused.value.__cause__
    assert error.pgcode == errorcodes.CHECK_VIOLATION
    assert error.diag.constraint_name == RULE
    assert reason in error.diag.message_primary


@pytest.fixture
def back_walking():
    return open_spa(back_walking=True, name="Ashiatsu")


def test_refuses_a_seventeen_year_olds_confirmed_back_walking_appointment(back_walking):
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))

    assert_refused(
        lambda: insert(
            back_walking, teen, start=at(D(2026, 12, 10), 10), booked=at(D(2026, 12, 1), 9)
        )
    )

    assert not Appointment.objects.exists()


def test_refuses_a_seventeen_year_old_held_for_review(back_walking):
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))
    screening = screen(teen)

    assert_refused(
        lambda: insert(
            back_walking,
            teen,
            start=at(D(2026, 12, 10), 10),
            booked=at(D(2026, 12, 1), 9),
            status="pending_review",
            screening=screening,
        )
    )


def test_accepts_a_seventeen_year_olds_appointment_that_is_not_back_walking():
    spa = open_spa(back_walking=False)
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))

    insert(spa, teen, start=at(D(2026, 12, 10), 10), booked=at(D(2026, 12, 1), 9))
    check()

    assert Appointment.objects.filter(client=teen).count() == 1


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
def test_accepts_an_under_18_back_walking_row_that_is_not_active(back_walking, status):
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))

    insert(
        back_walking,
        teen,
        start=at(D(2026, 12, 10), 10),
        booked=at(D(2026, 12, 1), 9),
        status=status,
    )
    check()

    assert Appointment.objects.get(client=teen).status == status


def test_the_check_waits_for_commit_so_a_row_cancelled_later_passes(back_walking):
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))

    # Deferred: the INSERT itself is not refused ...
    appointment_id = insert(
        back_walking, teen, start=at(D(2026, 12, 10), 10), booked=at(D(2026, 12, 1), 9)
    )
    # ... and what counts is the row at commit.
    execute(
        "UPDATE appointments_appointment SET status = 'cancelled', cancelled_at = now()"
        " WHERE id = %s",
        [appointment_id],
    )
    check()

    assert Appointment.objects.get(pk=appointment_id).status == "cancelled"


@pytest.mark.parametrize(
    ("day", "refused"),
    [
        (D(2026, 12, 2), False),  # the 18th birthday
        (D(2026, 12, 1), True),  # the day before
    ],
)
def test_the_18th_birthday_is_the_first_day_allowed(back_walking, day, refused):
    client = ClientFactory(date_of_birth=D(2008, 12, 2))

    def write():
        insert(back_walking, client, start=at(day, 10), booked=at(day, 8))

    if refused:
        assert_refused(write, reason="on the appointment's day, 2026-12-01")
    else:
        write()
        check()
        assert Appointment.objects.filter(client=client).exists()


@pytest.mark.parametrize(
    ("day", "refused"),
    [
        (D(2026, 2, 28), True),  # 2026 has no 29 February: still 17 on the 28th
        (D(2026, 3, 1), False),  # 18 from 1 March
    ],
)
def test_born_on_29_february_turns_18_on_1_march_in_a_common_year(back_walking, day, refused):
    leapling = ClientFactory(date_of_birth=D(2008, 2, 29))

    def write():
        insert(back_walking, leapling, start=at(day, 10), booked=at(day, 8))

    if refused:
        assert_refused(write, reason="on the appointment's day")
    else:
        write()
        check()
        assert Appointment.objects.filter(client=leapling).exists()


# Born 15 June 2008: 18 on 15 June 2026. London is UTC+1 in June.
SUMMER_BIRTHDAY = D(2008, 6, 15)
# 00:05 on 15 June in London, 14 June in UTC: booked on the birthday.
BOOKED_JUST_AFTER_MIDNIGHT = datetime.datetime(2026, 6, 14, 23, 5, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("start", "refused"),
    [
        # 23:30 UTC on 14 June is 00:30 on 15 June in London: the birthday.
        (datetime.datetime(2026, 6, 14, 23, 30, tzinfo=datetime.UTC), False),
        # 22:30 UTC is 23:30 on 14 June in London: one day short.
        (datetime.datetime(2026, 6, 14, 22, 30, tzinfo=datetime.UTC), True),
    ],
)
def test_a_summer_evening_in_utc_is_judged_on_the_london_date(back_walking, start, refused):
    client = ClientFactory(date_of_birth=SUMMER_BIRTHDAY)

    def write():
        insert(back_walking, client, start=start, booked=BOOKED_JUST_AFTER_MIDNIGHT)

    if refused:
        assert_refused(write, reason="on the appointment's day, 2026-06-14")
    else:
        write()  # the UTC dates (14 June) would both say 17
        check()
        assert Appointment.objects.filter(client=client).exists()


@pytest.mark.parametrize(
    ("booked", "refused"),
    [
        (at(D(2026, 11, 20), 9), True),  # booked at 17, for a day they are 18
        (at(D(2026, 12, 2), 9), False),  # booked on the 18th birthday
    ],
)
def test_the_client_is_18_on_the_day_they_book_too(back_walking, booked, refused):
    client = ClientFactory(date_of_birth=D(2008, 12, 2))

    def write():
        insert(back_walking, client, start=at(D(2026, 12, 10), 10), booked=booked)

    if refused:
        assert_refused(write, reason="on the day it was booked, 2026-11-20")
    else:
        write()
        check()
        assert Appointment.objects.filter(client=client).exists()


@pytest.mark.parametrize(
    ("day", "refused"),
    [
        (D(2026, 12, 1), True),  # moved to the day before the 18th birthday
        (D(2026, 12, 3), False),
    ],
)
def test_moving_an_appointment_is_judged_on_its_new_day(back_walking, day, refused):
    client = ClientFactory(date_of_birth=D(2008, 12, 2))
    appointment_id = insert(
        back_walking, client, start=at(D(2026, 12, 10), 10), booked=at(D(2026, 12, 2), 9)
    )
    check()
    start = at(day, 10)

    def write():
        execute(
            "UPDATE appointments_appointment SET starts_at = %s, ends_at = %s, blocked_until = %s"
            " WHERE id = %s",
            [
                start,
                start + datetime.timedelta(hours=1),
                start + datetime.timedelta(hours=2),
                appointment_id,
            ],
        )

    if refused:
        assert_refused(write)
    else:
        write()
        check()
        assert Appointment.objects.get(pk=appointment_id).starts_at == start


def test_refuses_confirming_a_cancelled_under_18_appointment_again(back_walking):
    teen = ClientFactory(date_of_birth=D(2009, 6, 1))
    appointment_id = insert(
        back_walking,
        teen,
        start=at(D(2026, 12, 10), 10),
        booked=at(D(2026, 12, 1), 9),
        status="cancelled",
    )
    check()

    assert_refused(
        lambda: execute(
            "UPDATE appointments_appointment SET status = 'confirmed', cancelled_at = NULL"
            " WHERE id = %s",
            [appointment_id],
        )
    )


# Corrections of the date of birth and treatment changes judge the appointments
# still ahead of PostgreSQL's now(), the real clock, so these are dated from it.


def upcoming(spa, client) -> int:
    now = timezone.now()
    start = now.replace(hour=10, minute=0, second=0, microsecond=0) + datetime.timedelta(days=10)
    return insert(spa, client, start=start, booked=now)


def sixteen_on(start: datetime.datetime) -> datetime.date:
    """A date of birth that makes the client 16 on the local day of `start`."""
    day = timezone.localdate(start)
    return day.replace(year=day.year - 16, day=min(day.day, 28))


def sixteen_on_the_day_of(appointment_id: int) -> datetime.date:
    return sixteen_on(Appointment.objects.get(pk=appointment_id).starts_at)


def correct_date_of_birth(client, date_of_birth: datetime.date) -> None:
    execute(
        "UPDATE clients_client SET date_of_birth = %s WHERE id = %s",
        [date_of_birth, client.pk],
    )


def test_refuses_correcting_a_date_of_birth_to_16_with_back_walking_ahead(back_walking):
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    appointment_id = upcoming(back_walking, client)
    check()

    assert_refused(
        lambda: correct_date_of_birth(client, sixteen_on_the_day_of(appointment_id)),
        reason=f"appointment {appointment_id} is back-walking",
    )

    client.refresh_from_db()
    assert client.date_of_birth == D(1990, 3, 27)


def test_accepts_the_correction_when_the_appointment_is_cancelled_before_commit(back_walking):
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    appointment_id = upcoming(back_walking, client)
    check()
    sixteen = sixteen_on_the_day_of(appointment_id)

    # What the services do: correct the date, then cancel what it rules out.
    correct_date_of_birth(client, sixteen)
    execute(
        "UPDATE appointments_appointment SET status = 'cancelled', cancelled_at = now()"
        " WHERE id = %s",
        [appointment_id],
    )
    check()

    client.refresh_from_db()
    assert client.date_of_birth == sixteen


def test_a_correction_leaves_past_appointments_alone(back_walking):
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    insert(back_walking, client, start=at(D(2025, 6, 10), 10), booked=at(D(2025, 6, 1), 9))
    check()

    correct_date_of_birth(client, D(2010, 1, 1))
    check()

    client.refresh_from_db()
    assert client.date_of_birth == D(2010, 1, 1)


def make_back_walking(treatment) -> None:
    execute(
        "UPDATE appointments_treatment SET is_back_walking = true WHERE id = %s", [treatment.pk]
    )


def test_refuses_making_a_treatment_back_walking_with_an_under_18_client_booked():
    spa = open_spa(back_walking=False)
    today = timezone.localdate()
    teen = ClientFactory(date_of_birth=today.replace(year=today.year - 16, day=1))
    upcoming(spa, teen)
    check()

    assert_refused(lambda: make_back_walking(spa.treatment))

    spa.treatment.refresh_from_db()
    assert not spa.treatment.is_back_walking


def test_accepts_making_a_treatment_back_walking_with_adults_booked():
    spa = open_spa(back_walking=False)
    upcoming(spa, ClientFactory(date_of_birth=D(1990, 3, 27)))
    check()

    make_back_walking(spa.treatment)
    check()

    spa.treatment.refresh_from_db()
    assert spa.treatment.is_back_walking


# The spa's time zone comes from the setting, through spa_time_zone().


def spa_time_zone() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT spa_time_zone()")
        return cursor.fetchone()[0]


def test_spa_time_zone_is_the_configured_one():
    assert spa_time_zone() == "Europe/London"


def test_migrate_brings_spa_time_zone_in_line_with_the_setting():
    with override_settings(TIME_ZONE="America/New_York"):
        call_command("migrate", verbosity=0)

        assert spa_time_zone() == "America/New_York"


def test_the_check_uses_the_configured_zone(back_walking):
    client = ClientFactory(date_of_birth=D(2008, 12, 2))
    # 03:00 UTC on the 18th birthday is 22:00 the evening before in New York.
    start = datetime.datetime(2026, 12, 2, 3, 0, tzinfo=datetime.UTC)
    booked = datetime.datetime(2026, 12, 2, 5, 0, tzinfo=datetime.UTC)

    with override_settings(TIME_ZONE="America/New_York"):
        assert sync_spa_time_zone()
        assert_refused(
            lambda: insert(back_walking, client, start=start, booked=booked),
            reason="on the appointment's day, 2026-12-01",
        )
        # Already in line: nothing to replace.
        assert not sync_spa_time_zone()


def test_the_function_and_its_triggers_are_in_postgresql_by_name():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgrelid::regclass::text, tgdeferrable, tginitdeferred"
            " FROM pg_trigger WHERE tgname LIKE %s ORDER BY tgname",
            ["%back_walking_adult"],
        )
        found = cursor.fetchall()

    assert found == [
        (RULE, "appointments_appointment", True, True),
        ("appointments_treatment_back_walking_adult", "appointments_treatment", True, True),
        ("clients_client_back_walking_adult", "clients_client", True, True),
    ]


# COMMIT itself, on committed data (a rolled-back test transaction never commits).


@pytest.mark.django_db(transaction=True)
def test_commit_raises_an_integrity_error_naming_the_rule(back_walking):
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    with transaction.atomic():
        appointment_id = upcoming(back_walking, client)

    with pytest.raises(IntegrityError, match=RULE) as refused, transaction.atomic():
        correct_date_of_birth(client, sixteen_on_the_day_of(appointment_id))
        # Nothing is refused until COMMIT, when atomic() leaves.
        client.refresh_from_db()
        assert client.date_of_birth.year > 2000

    assert refused.value.__cause__.pgcode == errorcodes.CHECK_VIOLATION
    assert refused.value.__cause__.diag.constraint_name == RULE
    client.refresh_from_db()
    assert client.date_of_birth == D(1990, 3, 27)


@pytest.mark.django_db(transaction=True)
def test_a_correction_through_the_service_commits_because_it_cancels_in_time(
    back_walking, staff_user
):
    """The services and the backstop agree: correct_date_of_birth cancels the
    back-walking a 16-year-old cannot have, in its own transaction, before COMMIT."""
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    screen(client)
    day = timezone.localdate() + datetime.timedelta(days=3)
    start = datetime.datetime.combine(day, datetime.time(10), tzinfo=free_times.spa_time_zone())
    appointment = services.book_appointment(
        client=client, treatment=back_walking.treatment, start=start, health_unchanged=True
    )

    correct_date_of_birth_service(
        client=client,
        new_date_of_birth=sixteen_on_the_day_of(appointment.pk),
        corrected_by=staff_user,
        reason="Passport shown at reception.",
    )

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


# Races, on real concurrent connections: neither check may pass on what the other
# transaction has not committed yet.


@pytest.mark.django_db(transaction=True)
def test_a_booking_committing_beside_a_correction_to_16_waits_and_is_refused(back_walking):
    client = ClientFactory(date_of_birth=D(1990, 3, 27))
    now = timezone.now()
    start = now.replace(hour=10, minute=0, second=0, microsecond=0) + datetime.timedelta(days=10)

    def book() -> int:
        with transaction.atomic():
            return insert(back_walking, client, start=start, booked=now)

    thread = None
    try:
        with transaction.atomic():
            correct_date_of_birth(client, sixteen_on(start))
            # The booking's check waits for this correction to commit ...
            thread, booking = in_thread(book)
            wait_for_a_lock_waiter()
    finally:
        if thread is not None:
            thread.join()

    # ... and then reads the new date of birth.
    assert isinstance(booking.get("error"), IntegrityError), booking
    assert RULE in str(booking["error"])
    assert not Appointment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_treatment_turned_back_walking_waits_for_a_booking_of_it_and_is_refused():
    spa = open_spa(back_walking=False)
    now = timezone.now()
    start = now.replace(hour=10, minute=0, second=0, microsecond=0) + datetime.timedelta(days=10)
    teen = ClientFactory(date_of_birth=sixteen_on(start))
    inserted = threading.Event()

    def book() -> int:
        with transaction.atomic():
            appointment_id = insert(spa, teen, start=start, booked=now)
            inserted.set()
            # Commits only once the treatment's check is waiting for it.
            wait_for_a_lock_waiter()
        return appointment_id

    thread, booking = in_thread(book)
    try:
        assert inserted.wait(timeout=10)
        with pytest.raises(IntegrityError, match=RULE), transaction.atomic():
            make_back_walking(spa.treatment)
    finally:
        thread.join()

    assert "error" not in booking, booking  # not back-walking when it was booked
    spa.treatment.refresh_from_db()
    assert not spa.treatment.is_back_walking
