"""Staff pages cost the same with five years of history as with five weeks (issue 14).

- Query counts: every admin list (with each filter, a search, and `_facets`), the change
  pages, and the front desk's pages make as many queries with twice the history.
- Plans: on this small database, with `SET LOCAL enable_seqscan = off`, PostgreSQL shows
  whether an index *can* serve each statement: no big table is read by a sequential scan,
  and the key statements use the index made for them (a "Seq Scan" that remains means no
  usable index; at a chain's size it would read millions of rows).
- The lists' own behaviour: Django's facet counts are off, counting stops at a limit,
  the date bar spans the first to the last row, and the search finds exactly the rows
  Django's own search finds.
"""

import datetime
import re
from urllib.parse import urlencode

import pytest
from axes.models import AccessLog
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.forms import format_start
from appointments.front_desk import clients as front_desk_clients
from appointments.models import Appointment, WaitlistEntry
from clients.models import AccessRecord, Client, DateOfBirthCorrection, User
from screening.models import HealthScreening
from spa_booking import admin_lists
from tests.factories import ClientFactory, TreatmentFactory, UserFactory
from tests.scheduling import NOW, TOMORROW, at, open_spa
from tests.screenings import screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

# The tables that grow with history: none may be read whole.
BIG_TABLES = [
    "axes_accesslog",
    "django_admin_log",
    "appointments_appointment",
    "appointments_waitlistentry",
    "clients_accessrecord",
    "clients_client",
    "clients_user",
    "screening_healthscreening",
]


class History:
    """A spa with a past: each `add(n)` adds n clients, each with a screening, a completed
    appointment on a day of their own, an access record, an expired waitlist entry, a
    date of birth correction, and staff's changes in the admin (to the new client, and to
    the held booking and its client, whose history pages grow)."""

    def __init__(self, staff: User) -> None:
        self.staff = staff
        self.spa = open_spa(therapists=2, rooms=2)
        # The history is another therapist's, room's and treatment's: filtering by the
        # first ones is selective, as it is among a chain's 430 therapists.
        self.past = {
            "therapist": self.spa.therapists[1],
            "room": self.spa.rooms[1],
            "treatment": TreatmentFactory(name="Hot stones"),
        }
        self.days = 0
        # What is there whatever the history: a held booking, one flagged for a call.
        held_client = ClientFactory(full_name="Dara Byrne", user__email="dara@example.com")
        self.held = Appointment.objects.create(
            **self._visit(held_client, at(TOMORROW, 10)),
            status=Appointment.Status.PENDING_REVIEW,
            screening=screen(held_client, back_pain_under_care=True),
            hold_expires_at=NOW + datetime.timedelta(days=1),
        )
        self.flagged = Appointment.objects.create(
            **self._visit(ClientFactory(full_name="Finn Flag"), at(TOMORROW, 12)),
            needs_follow_up=True,
        )
        self.client = self.held.client

    def _visit(self, client: Client, start: datetime.datetime, **past) -> dict:
        return {
            "client": client,
            "therapist": self.spa.therapist,
            "room": self.spa.room,
            "treatment": self.spa.treatment,
            **past,
            "starts_at": start,
            "ends_at": start + datetime.timedelta(minutes=60),
            "blocked_until": start + datetime.timedelta(minutes=75),
        }

    def add(self, count: int) -> None:
        for _ in range(count):
            self.days += 1
            client = ClientFactory(full_name=f"Client Number{self.days}")
            start = NOW - datetime.timedelta(days=self.days, hours=-2)
            screening = screen(client)
            Appointment.objects.create(
                **self._visit(client, start, **self.past),
                status=Appointment.Status.COMPLETED,
                screening=screening,
            )
            AccessRecord.objects.create(
                client=client, viewed_by=self.staff, kind=AccessRecord.Kind.SCREENING_ANSWERS
            )
            day = start.date()
            WaitlistEntry.objects.create(
                client=client,
                treatment=self.spa.treatment,
                first_day=day,
                last_day=day,
                state=WaitlistEntry.State.EXPIRED,
            )
            DateOfBirthCorrection.objects.create(
                client=client,
                old_date_of_birth=datetime.date(1990, 1, 1),
                new_date_of_birth=client.date_of_birth,
                reason="Passport shown.",
                corrected_by=self.staff,
            )
            AccessLog.objects.bulk_create([self._log_in(client.user.email, start)])
            LogEntry.objects.bulk_create(
                self._changed(changed) for changed in (client, self.held, self.client)
            )

    def bulk(self, count: int) -> None:
        """`count` more clients with a past like `add`'s (and a booking ahead), written in a
        few queries: enough rows that PostgreSQL prefers the index that fits a statement to
        any other."""
        first = self.days + 1
        self.days += count
        users = User.objects.bulk_create(
            User(email=f"bulk{day}@example.com", password="!")
            for day in range(first, self.days + 1)
        )
        clients = Client.objects.bulk_create(
            Client(
                user=user,
                full_name=f"Client Number{day}",
                phone="07700 900999",
                date_of_birth=datetime.date(1980, 1, 1),
            )
            for day, user in zip(range(first, self.days + 1), users, strict=True)
        )
        screened = self.held.screening
        starts = {
            client.pk: NOW - datetime.timedelta(days=day, hours=-2)
            for day, client in zip(range(first, self.days + 1), clients, strict=True)
        }
        screenings = HealthScreening.objects.bulk_create(
            HealthScreening(
                client=client,
                questionnaire_version=screened.questionnaire_version,
                answers=screened.answers,
                signature_name=client.full_name,
                consented_at=starts[client.pk],
                submitted_at=starts[client.pk],
                outcome=HealthScreening.Outcome.CLEARED,
                valid_until=starts[client.pk].date() + datetime.timedelta(days=365),
                review=HealthScreening.Review.NOT_NEEDED,
            )
            for client in clients
        )
        Appointment.objects.bulk_create(
            Appointment(
                **self._visit(client, starts[client.pk], **self.past),
                status=Appointment.Status.COMPLETED,
                screening=screening,
            )
            for client, screening in zip(clients, screenings, strict=True)
        )
        # And as many booked ahead, as a chain has two months of bookings ahead.
        Appointment.objects.bulk_create(
            Appointment(
                **self._visit(
                    client,
                    NOW + (NOW - starts[client.pk]) + datetime.timedelta(days=1),
                    **self.past,
                ),
                status=Appointment.Status.CONFIRMED,
            )
            for client in clients
        )
        AccessRecord.objects.bulk_create(
            AccessRecord(
                client=client,
                viewed_by=self.staff,
                viewed_at=starts[client.pk],
                kind=AccessRecord.Kind.SCREENING_LIST,
            )
            for client in clients
        )
        WaitlistEntry.objects.bulk_create(
            WaitlistEntry(
                client=client,
                treatment=self.past["treatment"],
                first_day=starts[client.pk].date(),
                last_day=starts[client.pk].date(),
                state=WaitlistEntry.State.EXPIRED,
                created_at=starts[client.pk],
            )
            for client in clients
        )
        AccessLog.objects.bulk_create(
            self._log_in(user.email, starts[client.pk])
            for user, client in zip(users, clients, strict=True)
        )
        LogEntry.objects.bulk_create(self._changed(client) for client in clients)

    def _changed(self, obj) -> LogEntry:
        """A change staff made to `obj` in the admin, as the admin logs it."""
        return LogEntry(
            user=self.staff,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            action_flag=CHANGE,
            change_message='[{"changed": {"fields": ["Status"]}}]',
        )

    @staticmethod
    def _log_in(username: str, moment: datetime.datetime) -> AccessLog:
        """A log-in to django-axes' log, as it writes one (its time is set on insert)."""
        entry = AccessLog(
            username=username,
            ip_address=f"10.0.{moment.day}.{moment.month}",
            user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0",
            path_info="/log-in/",
            http_accept="text/html",
        )
        entry.attempt_time = moment  # aware: NOW-based
        return entry

    def staff_pages(self) -> list[str]:
        spa, client = self.spa, self.client
        appointments = reverse("admin:appointments_appointment_changelist")
        clients = reverse("admin:clients_client_changelist")
        users = reverse("admin:clients_user_changelist")
        screenings = reverse("admin:screening_healthscreening_changelist")
        waitlist = reverse("admin:appointments_waitlistentry_changelist")
        access = reverse("admin:clients_accessrecord_changelist")
        corrections = reverse("admin:clients_dateofbirthcorrection_changelist")
        logins = reverse("admin:axes_accesslog_changelist")
        book = reverse("front_desk:book") + (
            f"?treatment={spa.treatment.slug}&start={format_start(at(TOMORROW, 14))}"
            f"&therapist={spa.therapist.pk}"
        )
        return [
            reverse("admin:index"),
            reverse("admin:appointments_appointment_history", args=[self.held.pk]),
            reverse("admin:clients_client_history", args=[client.pk]),
            appointments,
            appointments + "?_facets=True",
            appointments + "?day=today",
            appointments + "?day=past",
            appointments + "?status__exact=pending_review",
            appointments + "?status__exact=completed",
            appointments + "?needs_follow_up__exact=1",
            appointments + f"?therapist__id__exact={spa.therapist.pk}",
            appointments + f"?room__id__exact={spa.room.pk}",
            appointments + f"?treatment__id__exact={spa.treatment.pk}",
            appointments + "?q=Number",
            appointments + "?q=client+number",
            appointments + "?q=example.com",
            appointments + "?q=07700",
            appointments + "?starts_at__year=2026",
            appointments + "?starts_at__year=2026&starts_at__month=11",
            appointments + "?o=3",
            reverse("admin:appointments_appointment_change", args=[self.held.pk]),
            reverse("admin:appointments_appointment_add"),
            reverse("admin:autocomplete")
            + "?app_label=appointments&model_name=appointment&field_name=client&term=Number",
            clients,
            clients + "?_facets=True",
            clients + "?q=Number",
            clients + "?q=27/3/1990",
            clients + "?o=-5",
            reverse("admin:clients_client_change", args=[client.pk]),
            users,
            users + "?_facets=True",
            users + "?q=Number",
            users + "?is_staff__exact=1",
            users + "?is_superuser__exact=1",
            users + "?is_active__exact=0",
            users + "?group=none",
            screenings,
            screenings + "?_facets=True",
            screenings + "?review__exact=pending",
            screenings + "?q=Number",
            reverse("admin:screening_healthscreening_change", args=[self.held.screening_id]),
            reverse("admin:screening_screeningtoreview_changelist"),
            waitlist,
            waitlist + "?_facets=True",
            waitlist + "?day=today",
            waitlist + f"?day={TOMORROW.isoformat()}",
            waitlist + "?state__exact=waiting",
            waitlist + "?q=Number",
            waitlist + "?o=5",
            access,
            access + "?_facets=True",
            access + "?kind__exact=export",
            access + f"?client__id__exact={client.pk}",
            access + f"?viewed_by__id__exact={self.staff.pk}",
            access + "?q=Number",
            corrections,
            corrections + "?q=Number",
            reverse("admin:clients_secondfactorreset_changelist"),
            reverse("admin:clients_erasurerequest_changelist"),
            logins,
            logins + "?_facets=True",
            logins + "?q=bulk1",
            logins + "?q=10.0.1",
            logins
            + "?"
            + urlencode({"attempt_time__gte": (NOW - datetime.timedelta(7)).isoformat()}),
            logins + "?logout_time__isnull=False",
            logins + f"?attempt_time__year={NOW.year}",
            reverse("admin:axes_accessfailurelog_changelist") + "?q=bulk1",
            reverse("admin:axes_accessattempt_changelist") + "?q=bulk1",
            reverse("admin:appointments_therapist_changelist"),
            reverse("admin:appointments_room_changelist"),
            reverse("admin:appointments_treatment_changelist"),
            reverse("front_desk:today"),
            reverse("front_desk:day") + f"?date={TOMORROW.isoformat()}",
            book + "&q=Number",
            book + "&q=dara%40example.com",
            book + "&q=07700+900123",
            book + "&q=27/3/1990",
            book + f"&client={client.pk}",
            reverse("front_desk:appointment", args=[self.held.pk]),
        ]


@pytest.fixture
def history(staff_user) -> History:
    return History(staff_user)


def queries_of(http, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


def test_every_staff_page_makes_as_many_queries_with_twice_the_history(staff_http, history):
    history.add(20)
    pages = history.staff_pages()
    for url in pages:  # once first: Django caches content types and such on first use
        queries_of(staff_http, url)
    with_history = {url: len(queries_of(staff_http, url)) for url in pages}

    history.add(20)
    with_twice_the_history = {url: len(queries_of(staff_http, url)) for url in pages}

    assert with_twice_the_history == with_history


# Plans: which index PostgreSQL can use for each statement


# What PostgreSQL may not do, so that the plan shows which index serves a statement:
# read a table whole (a Seq Scan left means no index serves it)...
WHOLE = ("enable_seqscan",)
# ...read any index from end to end (only bitmap scans are left, and each needs a
# condition its index answers)...
BY_CONDITION = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
# ...or sort (the index that gives the order shows; a list of a chain's size is read in
# that order until the page is full).
IN_ORDER = ("enable_seqscan", "enable_sort")


def plan(sql: str, turned_off: tuple[str, ...] = WHOLE) -> str:
    with connection.cursor() as cursor:
        for switch in turned_off:
            cursor.execute(f"SET LOCAL {switch} = off")
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            for switch in turned_off:
                cursor.execute(f"SET LOCAL {switch} = on")


def reads(sql: str) -> bool:
    return sql.lstrip().lstrip("(").upper().startswith(("SELECT", "WITH"))


@pytest.fixture
def analysed_history(history) -> History:
    history.add(5)
    history.bulk(300)
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"ANALYZE {table}")
    return history


def test_no_staff_page_reads_a_big_table_from_end_to_end(staff_http, analysed_history):
    scanned = {}
    for url in analysed_history.staff_pages():
        for sql in filter(reads, queries_of(staff_http, url)):
            plan_text = plan(sql)
            for table in BIG_TABLES:
                if f"Seq Scan on {table}" in plan_text:
                    scanned.setdefault(url, set()).add(table)
    assert scanned == {}


def the_statement(http, url: str, start: str, *fragments: str) -> str:
    """The page's first statement that starts so and contains every fragment."""
    matching = [
        sql
        for sql in queries_of(http, url)
        if sql.startswith(start) and all(fragment in sql for fragment in fragments)
    ]
    assert matching, (url, start, fragments)
    return matching[0]


LIST = 'SELECT "appointments_appointment"."id"'


@pytest.mark.parametrize(
    "query, index",
    [
        # Held bookings: the status index, or the partial index of held bookings
        # (release_expired_holds'), whichever the planner prices lower.
        ("status__exact=pending_review", "appointment_by_status_idx|appointment_hold_expiry_idx"),
        ("status__exact=cancelled", "appointment_by_status_idx"),
        ("needs_follow_up__exact=1", "appointment_follow_up_idx"),
        ("therapist__id__exact={therapist}", "appointment_by_therapist_idx"),
        ("room__id__exact={room}", "appointment_by_room_idx"),
        ("treatment__id__exact={treatment}", "appointment_by_treatment_idx"),
    ],
)
def test_each_appointment_filter_has_its_index(staff_http, analysed_history, query, index):
    spa = analysed_history.spa
    query = query.format(therapist=spa.therapist.pk, room=spa.room.pk, treatment=spa.treatment.pk)
    url = reverse("admin:appointments_appointment_changelist") + "?" + query

    listed = plan(the_statement(staff_http, url, LIST, "ORDER BY"), IN_ORDER)
    counted = plan(the_statement(staff_http, url, "SELECT COUNT(*)"), BY_CONDITION)
    assert any(name in listed for name in index.split("|")), listed
    assert any(name in counted for name in index.split("|")), counted


@pytest.mark.parametrize(
    "page, start, index, turned_off",
    [
        # An object's history: its entries, by the content type and the object's id.
        ("history", 'SELECT "django_admin_log"', "django_admin_log_object_idx", BY_CONDITION),
        # "Recent actions": the signed-in user's newest entries, in the index's order.
        ("index", 'SELECT "django_admin_log"', "django_admin_log_user_time_idx", IN_ORDER),
    ],
)
def test_the_admins_history_is_read_by_its_indexes(
    staff_http, analysed_history, page, start, index, turned_off
):
    url = (
        reverse("admin:clients_client_history", args=[analysed_history.client.pk])
        if page == "history"
        else reverse("admin:index")
    )
    assert index in plan(the_statement(staff_http, url, start), turned_off)


def test_an_objects_history_names_who_changed_it_by_email(staff_http, history):
    history.add(2)
    url = reverse("admin:clients_client_history", args=[history.client.pk])
    page = staff_http.get(url).content.decode()
    assert page.count(f"<td>{history.staff.email}</td>") == 2


def test_searching_clients_by_name_email_and_phone_uses_the_trigram_indexes(
    staff_http, analysed_history
):
    for url in [
        reverse("admin:clients_client_changelist") + "?q=Dara",
        reverse("admin:appointments_appointment_changelist") + "?q=Dara",
    ]:
        for column, index in [
            ('"full_name"::text) LIKE', "client_name_trgm_idx"),
            ('"phone"::text) LIKE', "client_phone_trgm_idx"),
            ('"email"::text) LIKE', "user_email_trgm_idx"),
        ]:
            plan_text = plan(the_statement(staff_http, url, "", column), BY_CONDITION)
            assert index in plan_text, (url, plan_text)


def test_searching_the_login_log_by_user_name_or_address_uses_the_trigram_indexes(
    staff_http, analysed_history
):
    url = reverse("admin:axes_accesslog_changelist")
    for query, index in [
        ("bulk12", "axes_accesslog_username_trgm_idx"),
        ("10.0.3", "axes_accesslog_address_trgm_idx"),
    ]:
        sql = the_statement(staff_http, f"{url}?q={query}", "SELECT COUNT(*)")
        assert index in plan(sql, BY_CONDITION), (query, sql)


def test_the_front_desk_finds_a_client_by_index(staff_http, analysed_history):
    spa = analysed_history.spa
    book = reverse("front_desk:book") + (
        f"?treatment={spa.treatment.slug}&start={format_start(at(TOMORROW, 14))}"
        f"&therapist={spa.therapist.pk}"
    )
    for query, index in [
        ("Dara+Byrne", "client_name_trgm_idx"),
        ("dara%40example", "user_email_trgm_idx"),
        ("07700+900123", "client_phone_digits_trgm_idx"),
        ("27/3/1990", "client_birth_date_idx"),
    ]:
        # A query for each way of matching (name, email, phone, date of birth), each
        # read through its index, no further than LISTED + 1 rows.
        ways = [
            sql
            for sql in queries_of(staff_http, f"{book}&q={query}")
            if sql.startswith('SELECT "clients_client"."id"')
            and f"LIMIT {front_desk_clients.LISTED + 1}" in sql
        ]
        plans = [plan(sql, BY_CONDITION) for sql in ways]
        assert any(index in plan_text for plan_text in plans), (query, plans)


def test_a_front_desk_search_too_common_to_list_reads_clients_in_name_order(
    staff_http, analysed_history, monkeypatch
):
    """More matches than LISTED ("an" at a chain): the clients are read in name order and
    each is checked, until the page's 20 are found; the same clients as from the list."""
    spa = analysed_history.spa
    url = reverse("front_desk:book") + (
        f"?treatment={spa.treatment.slug}&start={format_start(at(TOMORROW, 14))}"
        f"&therapist={spa.therapist.pk}&q=number"
    )
    listed = staff_http.get(url).content.decode()
    monkeypatch.setattr(front_desk_clients, "LISTED", 2)

    page = the_statement(staff_http, url, 'SELECT "clients_client"."id"', "LIMIT 20")
    checked = staff_http.get(url).content.decode()

    assert "client_name_idx" in plan(page, IN_ORDER)
    assert "SubPlan" in plan(page, IN_ORDER)

    def names(html: str) -> list[str]:
        return re.findall(r"Client Number\d+", html)

    assert names(checked) == names(listed)
    assert len(set(names(listed))) == 20  # a full page: more than LISTED matched


def test_the_front_desk_work_list_reads_held_and_flagged_bookings_by_index(
    staff_http, analysed_history
):
    url = reverse("front_desk:today")
    held = the_statement(staff_http, url, LIST, "'pending_review'")
    flagged = the_statement(
        staff_http, url, LIST, 'WHERE ("appointments_appointment"."needs_follow_up"'
    )

    held_plan = plan(held, BY_CONDITION)
    held_indexes = ("appointment_by_status_idx", "appointment_hold_expiry_idx")
    assert any(name in held_plan for name in held_indexes), held_plan
    assert "appointment_follow_up_idx" in plan(flagged, BY_CONDITION)


def test_the_screening_list_counts_held_bookings_only_for_the_screenings_shown(
    staff_http, analysed_history
):
    url = reverse("admin:screening_healthscreening_changelist")
    sql = the_statement(staff_http, url, 'SELECT "screening_healthscreening"."id"', "ORDER BY")
    plan_text = plan(sql, IN_ORDER)

    # A subquery per screening shown; the list itself by the submission, newest first.
    # No grouping of every screening with its bookings before the page is cut.
    assert "SubPlan" in plan_text
    assert "screening_submitted_idx" in plan_text
    assert 'GROUP BY "screening_healthscreening"."id"' not in sql


@pytest.mark.parametrize(
    "changelist, query, index",
    [
        ("clients_client", "", "client_name_idx"),
        ("clients_accessrecord", "", "accessrecord_latest_idx"),
        ("clients_accessrecord", "?kind__exact=export", "accessrecord_kind_idx"),
        ("appointments_waitlistentry", "", "waitlistentry_added_idx"),
        ("appointments_waitlistentry", "?state__exact=waiting", "waitlistentry_state_idx"),
        ("appointments_appointment", "", "appointment_start_idx"),
        ("clients_user", "?is_staff__exact=1", "user_staff_idx"),
        ("clients_user", "?is_superuser__exact=1", "user_superuser_idx"),
        ("clients_user", "?is_active__exact=0", "user_inactive_idx"),
        ("axes_accesslog", "", "axes_accesslog_pkey"),
    ],
)
def test_each_long_list_is_in_the_order_of_an_index(
    staff_http, analysed_history, changelist, query, index
):
    url = reverse(f"admin:{changelist}_changelist") + query
    sql = the_statement(staff_http, url, f'SELECT "{changelist}"."', "ORDER BY")

    assert index in plan(sql, IN_ORDER)


# What the long lists do


def test_accounts_are_filtered_by_group_or_none_without_a_distinct_sort(staff_http, history):
    from django.contrib.auth.models import Group

    desk = Group.objects.create(name="Desk")
    member = UserFactory(email="member@example.com", is_staff=True)
    member.groups.add(desk)
    url = reverse("admin:clients_user_changelist")

    in_desk = queries_of(staff_http, f"{url}?group={desk.pk}")
    page_in_desk = staff_http.get(f"{url}?group={desk.pk}").content.decode()
    page_in_none = staff_http.get(f"{url}?group=none").content.decode()

    assert "member@example.com" in page_in_desk and "dara@example.com" not in page_in_desk
    assert "member@example.com" not in page_in_none and "dara@example.com" in page_in_none
    assert not any("DISTINCT" in sql for sql in in_desk)
    assert staff_http.get(f"{url}?group=nonsense").status_code == 200


def test_access_records_filter_by_who_looked_among_staff_and_therapists(staff_http, history):
    history.add(2)
    url = reverse("admin:clients_accessrecord_changelist")

    html = staff_http.get(url).content.decode()

    assert '<select name="viewed_by__id__exact"' in html
    assert f'<option value="{history.staff.pk}">{history.staff.email}</option>' in html
    assert f'<option value="{history.spa.therapist.user_id}">' in html
    assert "dara@example.com</option>" not in html  # a client: never a viewer


def test_a_searched_lists_date_bar_spans_its_matches_not_the_table(staff_http, history):
    history.add(3)
    url = reverse("admin:appointments_appointment_changelist")

    html = staff_http.get(url, {"q": "Number1"}).content.decode()
    searched = queries_of(staff_http, url + "?q=Number1")
    whole = queries_of(staff_http, url)

    # Client Number1's only visit was a day ago (this year, this month): the bar offers
    # that month's days, not every year of the list.
    assert "starts_at__day=" in html
    # A searched list's first and last come from its (counted, few) matches; only the
    # whole list asks MIN/MAX along the date's index.
    assert not any('MIN("appointments_appointment"."starts_at")' in sql for sql in searched)
    assert any('MIN("appointments_appointment"."starts_at")' in sql for sql in whole)


def test_show_counts_is_not_offered_and_its_parameter_changes_nothing(staff_http, history):
    history.add(3)
    url = reverse("admin:appointments_appointment_changelist")

    plain = queries_of(staff_http, url)
    with_facets = queries_of(staff_http, url + "?_facets=True")
    page = staff_http.get(url + "?_facets=True").content.decode()

    assert len(with_facets) == len(plain)
    assert "Show counts" not in page
    assert "Hide counts" not in page


def test_a_long_list_counts_up_to_a_limit_and_then_says_more(staff_http, history, monkeypatch):
    history.add(5)
    monkeypatch.setattr(admin_lists, "COUNT_LIMIT", 3)
    monkeypatch.setattr(admin.site._registry[Appointment], "list_per_page", 2)
    url = reverse("admin:appointments_appointment_changelist")

    page = staff_http.get(url).content.decode()
    beyond = staff_http.get(url + "?p=3")

    assert "More than 3 appointments: filter or search to narrow them." in page
    # "Select all N" would act on more than N rows: not offered.
    assert "Select all 3" not in page
    assert 'class="question hidden"' not in page
    assert beyond.status_code == 302  # past the counted pages: back to the first
    counted = staff_http.get(url + "?needs_follow_up__exact=1").content.decode()
    assert "1 appointment" in counted
    assert "More than" not in counted


def test_the_date_bar_offers_the_periods_from_the_first_row_to_the_last(staff_http, history):
    history.add(40)  # back to 22 October 2026; the held booking is on 2 December
    url = reverse("admin:appointments_appointment_changelist")

    top = staff_http.get(url).content.decode()
    year = staff_http.get(url + "?starts_at__year=2026").content.decode()
    month = staff_http.get(url + "?starts_at__year=2026&starts_at__month=11").content.decode()

    # All in 2026: Django opens the year itself.
    assert "October 2026" in top and "December 2026" in top
    assert "September 2026" not in top
    assert "October 2026" in year and "December 2026" in year
    assert "1 November" in month and "30 November" in month
    assert "starts_at__day=30" in month
    day = staff_http.get(url + "?starts_at__year=2026&starts_at__month=11&starts_at__day=5")
    assert "5 November" in day.content.decode()


def test_a_list_orders_only_by_the_columns_an_index_orders_by(staff_http, history):
    history.add(3)
    url = reverse("admin:clients_client_changelist")

    by_last_visit = queries_of(staff_http, url + "?o=5")  # the "last visit" column
    page = staff_http.get(url).content.decode()

    assert not any('ORDER BY "latest_visit"' in sql for sql in by_last_visit)
    assert 'class="column-last_visit"' in page  # no link to sort by it
    assert 'class="sortable column-full_name' in page


# The search finds what Django's own search finds


@pytest.fixture
def people(staff_user):
    spa = open_spa(therapists=1, rooms=1)
    reviewer = UserFactory(email="reviewer.okafor@example.com", is_staff=True)
    found = []
    for day, (name, email, phone) in enumerate(
        [
            ("Nora Okafor", "nora@example.com", "07700 900111"),
            ("Nora Smith", "nsmith@mail.test", "07700 900222"),
            ("Ana Okafor-Lee", "ana.okafor@example.com", "+44 7700 900333"),
            ("Sam O'Kafor", "sam@example.org", "07700 900444"),
        ],
        start=1,
    ):
        client = ClientFactory(full_name=name, user__email=email, phone=phone)
        start = NOW - datetime.timedelta(days=day)
        Appointment.objects.create(
            client=client,
            therapist=spa.therapist,
            room=spa.room,
            treatment=spa.treatment,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
            blocked_until=start + datetime.timedelta(hours=1),
            status=Appointment.Status.COMPLETED,
            screening=screen(client),
        )
        for viewer in (staff_user, reviewer):
            AccessRecord.objects.create(
                client=client, viewed_by=viewer, kind=AccessRecord.Kind.EXPORT
            )
        WaitlistEntry.objects.create(
            client=client, treatment=spa.treatment, first_day=TOMORROW, last_day=TOMORROW
        )
        found.append(client)
    return found


TERMS = [
    "nora",
    "OKAFOR",
    "nora okafor",
    '"nora okafor"',
    "okafor nora",
    "example.com",
    "900111",
    "07700 900",
    "okafor reviewer",  # a client's name and the viewer's email (access records)
    "staff@example.com",
    "o'kafor",
    "zzz",
    "a",
]


@pytest.mark.parametrize("listed", [admin_lists.LISTED_MATCHES, 1])
@pytest.mark.parametrize(
    "model", [Appointment, Client, User, AccessRecord, HealthScreening, WaitlistEntry]
)
def test_the_search_finds_the_rows_djangos_own_search_finds(
    people, staff_user, monkeypatch, model, listed
):
    # listed=1: every related match is sent as a subquery, not a list of ids.
    monkeypatch.setattr(admin_lists, "LISTED_MATCHES", listed)
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = staff_user
    everything = model.objects.all()

    for term in TERMS:
        ours, _ = admin_lists.LongListMixin.get_search_results(
            model_admin, request, everything, term
        )
        djangos, _ = admin.ModelAdmin.get_search_results(model_admin, request, everything, term)
        found = set(ours.values_list("pk", flat=True))
        assert found == set(djangos.values_list("pk", flat=True)), term
        if term == "nora okafor" and model is Client:
            assert found == {people[0].pk}


def test_appointment_search_asks_at_most_two_queries_for_the_clients_whatever_the_words(
    staff_http, people
):
    """One word: one query. More: the longest word's clients, then the other words tested
    on those clients only (a common first name is thousands of clients at a chain's size)."""
    url = reverse("admin:appointments_appointment_changelist")
    one_word = queries_of(staff_http, url + "?q=okafor")
    two_words = queries_of(staff_http, url + "?q=nora+okafor")
    three_words = queries_of(staff_http, url + "?q=nora+okafor+example")

    assert len(two_words) == len(three_words) == len(one_word) + 1


def test_the_other_words_are_tested_on_the_longest_words_clients_only(staff_http, analysed_history):
    url = reverse("admin:appointments_appointment_changelist") + "?q=Dara+Byrne"
    narrowing = the_statement(staff_http, url, 'SELECT "clients_client"."id"', "COALESCE")

    plan_text = plan(narrowing, WHOLE)
    assert "clients_client_pkey" in plan_text, plan_text
    assert "trgm" not in plan_text, plan_text


def test_a_search_too_common_to_list_checks_the_lists_rows_in_order(
    staff_http, analysed_history, monkeypatch
):
    """More clients match than LISTED_MATCHES ("an" at a chain): none of them is gathered;
    each appointment's client is checked as the list is read, newest first, and the count
    stops at BROAD_SEARCH_COUNT_LIMIT."""
    monkeypatch.setattr(admin_lists, "LISTED_MATCHES", 3)
    monkeypatch.setattr(admin_lists, "BROAD_SEARCH_COUNT_LIMIT", 4)
    url = reverse("admin:appointments_appointment_changelist") + "?q=number"

    statements = queries_of(staff_http, url)
    page = staff_http.get(url).content.decode()

    listing = [sql for sql in statements if sql.startswith('(SELECT "clients_client"."id"')]
    # One query a name, an email and a phone, read no further than 4 rows each.
    assert listing and all("UNION ALL" in sql and "LIMIT 12" in sql for sql in listing)
    rows = the_statement(staff_http, url, LIST, "ORDER BY")
    assert "SubPlan" in plan(rows, IN_ORDER)
    assert "appointment_start_idx" in plan(rows, IN_ORDER)
    assert "More than 4 results" in page


def test_a_short_word_does_not_search_the_login_log(staff_http, history):
    history.add(2)
    url = reverse("admin:axes_accesslog_changelist")

    with CaptureQueriesContext(connection) as short:
        page = staff_http.get(url + "?q=10").content.decode()
    found = staff_http.get(url + "?q=10.0.29").content.decode()  # two days ago's

    assert "Type at least 3 characters" in page
    assert not any("axes_accesslog" in query["sql"] for query in short.captured_queries)
    assert "10.0.29.11" in found
