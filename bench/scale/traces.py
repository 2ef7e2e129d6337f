"""What years of use leave behind besides appointments: sessions, login records, the health
data access audit, the waitlist, account emails, the admin's history, and a few privacy
requests."""

import datetime
import json
import random
import secrets

from django.contrib.sessions.backends.db import SessionStore

from clients.models import DateOfBirthCorrection, ErasureRequest, SecondFactorReset

from .history import Outbox
from .people import Catalogue, Screenings, Staff
from .restore import Copier, text

# Sessions live 14 days; a daily clearsessions finds about a day's worth expired.
EXPIRED_SESSIONS = 0.07
LOG_DAYS = 30
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"


def sessions(*, rng: random.Random, count: int, now: datetime.datetime) -> None:
    data = SessionStore().encode({})
    rows = Copier("django_session", ["session_key", "session_data", "expire_date"])
    for _ in range(count):
        if rng.random() < EXPIRED_SESSIONS:
            expires = now - datetime.timedelta(seconds=rng.randint(60, 86_400))
        else:
            expires = now + datetime.timedelta(seconds=rng.randint(60, 14 * 86_400))
        rows.add(f"{secrets.token_hex(16)}\t{data}\t{text(expires)}")
    rows.close()


def _address(rng: random.Random) -> str:
    return (
        f"198.51.100.{rng.randint(1, 254)}"
        if rng.random() < 0.5
        else (f"203.0.113.{rng.randint(1, 254)}")
    )


def logins(*, rng: random.Random, attempts: int, logs: int, now: datetime.datetime, clients: int):
    """django-axes' tables: failed attempts (most long expired), and the login log."""
    attempt_rows = Copier(
        "axes_accessattempt",
        ["id", "user_agent", "ip_address", "username", "http_accept", "path_info",
         "attempt_time", "get_data", "post_data", "failures_since_start"],
    )  # fmt: skip
    expirations = Copier("axes_accessattemptexpiration", ["access_attempt_id", "expires_at"])
    for number in range(1, attempts + 1):
        at = now - datetime.timedelta(seconds=rng.randint(60, 5 * 365 * 86_400))
        attempt_rows.add(
            f"{number}\t{USER_AGENT}\t{_address(rng)}\tsomeone{number}@example.com\ttext/html\t"
            f"/log-in/\t{text(at)}\t\t\t{rng.randint(1, 6)}"
        )
        expirations.add(f"{number}\t{text(at + datetime.timedelta(minutes=15))}")
    attempt_rows.close()
    expirations.close()
    log_rows = Copier(
        "axes_accesslog",
        ["id", "user_agent", "ip_address", "username", "http_accept", "path_info",
         "attempt_time", "logout_time", "session_hash"],
    )  # fmt: skip
    # Kept for LOG_DAYS (axes_reset_logs' default age) and a day: a daily retention run
    # has one day's worth to delete.
    for number in range(1, logs + 1):
        at = now - datetime.timedelta(seconds=rng.randint(60, (LOG_DAYS + 1) * 86_400))
        log_rows.add(
            f"{number}\t{USER_AGENT}\t{_address(rng)}\tclient{rng.randint(1, clients)}"
            f"@example.com\ttext/html\t/log-in/\t{text(at)}\t\\N\t{secrets.token_hex(32)}"
        )
    log_rows.close()


def access_records(
    *,
    rng: random.Random,
    count: int,
    now: datetime.datetime,
    clients: int,
    therapist_users: list[int],
    staff: Staff,
) -> None:
    """Every look at health data: mostly therapists' schedules, some reviewers' pages."""
    rows = Copier(
        "clients_accessrecord", ["id", "client_id", "viewed_by_id", "viewed_at", "kind", "address"]
    )
    span = 5 * 365 * 86_400
    for number in range(1, count + 1):
        at = now - datetime.timedelta(seconds=span * (1 - number / (count + 1)))
        if rng.random() < 0.85:
            viewer, kind = therapist_users[rng.randrange(len(therapist_users))], "schedule_summary"
        else:
            viewer = rng.choice(staff.reviewers)
            kind = rng.choice(["screening_answers", "screening_list"])
        rows.add(
            f"{number}\t{rng.randint(1, clients)}\t{viewer}\t{text(at)}\t{kind}\t{_address(rng)}"
        )
    rows.close()


def waitlist(
    *,
    rng: random.Random,
    count: int,
    now: datetime.datetime,
    cat: Catalogue,
    clients: int,
    persona: dict,
    outbox: Outbox,
) -> None:
    """Entries over the years (expired or withdrawn), a few hundred still waiting, some with
    offers; the persona waits for Ashiatsu next week and was offered a time."""
    today = now.date()
    treatments = list(cat.treatments.values())
    entries = Copier(
        "appointments_waitlistentry",
        ["id", "client_id", "treatment_id", "therapist_id", "first_day", "last_day", "state",
         "created_at", "created_by_id", "updated_at", "appointment_id"],
    )  # fmt: skip
    offers = Copier(
        "appointments_waitlistoffer",
        ["id", "entry_id", "starts_at", "token", "created_at", "expires_at"],
    )
    active = max(1, count // 10)
    # Waiting clients are all different, so no two active entries overlap (the constraint).
    waiting = rng.sample(range(2, clients + 1), min(active, clients - 1))
    offer_id = 0
    for number in range(1, count + 1):
        is_persona = number == 1
        is_active = is_persona or number <= len(waiting)
        if is_active:
            client = persona["client"] if is_persona else waiting[number - 1]
            first = today + datetime.timedelta(days=rng.randint(1, 30) if not is_persona else 7)
            state = "offered" if is_persona or rng.random() < 0.3 else "waiting"
            created = now - datetime.timedelta(days=rng.randint(1, 20))
        else:
            client = rng.randint(1, clients)
            first = today - datetime.timedelta(days=rng.randint(2, 5 * 365))
            state = rng.choice(["expired", "expired", "withdrawn"])
            created = datetime.datetime.combine(
                first - datetime.timedelta(days=rng.randint(1, 20)),
                datetime.time(10),
                tzinfo=datetime.UTC,
            )
        last = first + datetime.timedelta(days=rng.choice([0, 0, 1, 6]))
        treatment = cat.treatments["ashiatsu-60"] if is_persona else rng.choice(treatments)
        entries.add(
            f"{number}\t{client}\t{treatment.pk}\t\\N\t{first}\t{last}\t{state}\t{text(created)}"
            f"\t\\N\t{text(created)}\t\\N"
        )
        if state == "offered" or (not is_active and rng.random() < 0.2):
            offer_id += 1
            offered = created + datetime.timedelta(hours=rng.randint(1, 12))
            if is_active:
                offered = min(offered, now - datetime.timedelta(minutes=30))
            starts = datetime.datetime.combine(first, datetime.time(9), tzinfo=datetime.UTC)
            token = persona["offer_token"] if is_persona else secrets.token_urlsafe(32)
            offers.add(
                f"{offer_id}\t{number}\t{text(starts)}\t{token}\t{text(offered)}\t"
                f"{text(max(starts, offered + datetime.timedelta(hours=1)))}"
            )
            outbox.add(kind="waitlist_offer", created=offered, offer=offer_id)
    entries.close()
    offers.close()


def other_notices(
    *,
    rng: random.Random,
    outbox: Outbox,
    target: int,
    screenings: Screenings,
    first_client_user: int,
    clients: int,
    now: datetime.datetime,
) -> None:
    """Screening decision emails, then account emails (sign-up links, password resets) up to
    the outbox's size."""
    for screening_id, _client, decided_at in screenings.decided:
        outbox.add(
            kind="decision",
            created=datetime.datetime.fromisoformat(decided_at),
            revision=1,
            screening=screening_id,
        )
    span = 5 * 365 * 86_400
    while outbox.count < target:
        kind = "sign_up" if rng.random() < 0.7 else "password_reset"
        created = now - datetime.timedelta(seconds=rng.randint(60, span))
        user = first_client_user + rng.randrange(clients)
        outbox.add(kind=kind, created=created, user=user)


# What staff change in the admin, by whom (bench.scale.people.Staff) and with what message.
_ADMIN_CHANGES = {
    "appointment": ("desk", ["Status"], ["Therapist"], ["Starts at", "Ends at"], ["Room"]),
    "client": ("desk", ["Phone"], ["Full name"], ["Marketing emails"]),
    "healthscreening": ("reviewers", ["Review state"], ["Reviewer notes"]),
    "therapist": ("admin", ["Bio"], ["Treatments"]),
}
_ADMIN_SHARES = {"appointment": 55, "client": 20, "healthscreening": 20, "therapist": 5}


def admin_log(
    *,
    rng: random.Random,
    count: int,
    now: datetime.datetime,
    staff: Staff,
    last_ids: dict[str, int],
    persona_client: int,
) -> None:
    """The admin's history (django.contrib.admin's LogEntry): the changes staff made over
    five years, newest last, spread over the records of each kind (`last_ids`: the highest
    id of each). The staff persona made the admin's share; the client persona's record was
    changed a few times, so its history page lists something."""
    from django.contrib.admin.models import ADDITION, CHANGE, DELETION
    from django.contrib.contenttypes.models import ContentType

    from appointments.models import Appointment, Therapist
    from clients.models import Client
    from screening.models import HealthScreening

    models = {
        "appointment": Appointment,
        "client": Client,
        "healthscreening": HealthScreening,
        "therapist": Therapist,
    }
    types = {name: ContentType.objects.get_for_model(model).pk for name, model in models.items()}
    kinds = [name for name, share in _ADMIN_SHARES.items() for _ in range(share)]
    rows = Copier(
        "django_admin_log",
        [
            "id",
            "action_time",
            "object_id",
            "object_repr",
            "action_flag",
            "change_message",
            "content_type_id",
            "user_id",
        ],
    )
    span = 5 * 365 * 86_400
    for number in range(1, count + 1):
        at = now - datetime.timedelta(seconds=span * (1 - number / (count + 1)))
        if number > count - 5:
            kind, object_id = "client", persona_client
        else:
            kind = kinds[rng.randrange(len(kinds))]
            object_id = rng.randint(1, last_ids[kind])
        who, *changes = _ADMIN_CHANGES[kind]
        if who == "admin" or rng.random() < 0.3:
            user = staff.admin
        else:
            user = rng.choice(getattr(staff, who))
        flag = rng.choices([CHANGE, ADDITION, DELETION], weights=[90, 8, 2])[0]
        message = (
            '[{"changed": {"fields": ' + json.dumps(rng.choice(changes)) + "}}]"
            if flag == CHANGE
            else '[{"added": {}}]'
            if flag == ADDITION
            else ""
        )
        rows.add(
            f"{number}\t{text(at)}\t{object_id}\t{models[kind]._meta.verbose_name} #{object_id}"
            f"\t{flag}\t{message}\t{types[kind]}\t{user}"
        )
    rows.close()


def privacy_requests(*, rng: random.Random, staff: Staff, clients: int, now: datetime.datetime):
    """A few open and refused erasure requests, date of birth corrections and second factor
    resets: the admin lists them."""
    chosen = rng.sample(range(2, clients + 1), min(30, clients - 1))
    ErasureRequest.objects.bulk_create(
        ErasureRequest(
            client_id=client,
            requested_at=now - datetime.timedelta(days=rng.randint(1, 40)),
            **(
                {}
                if number % 3
                else {
                    "state": ErasureRequest.State.REFUSED,
                    "refusal_reason": "An unpaid invoice: the spa keeps the records for now.",
                    "decided_by_id": staff.admin,
                    "decided_at": now - datetime.timedelta(hours=rng.randint(1, 20)),
                }
            ),
        )
        for number, client in enumerate(chosen)
    )
    DateOfBirthCorrection.objects.bulk_create(
        DateOfBirthCorrection(
            client_id=client,
            old_date_of_birth=datetime.date(1980, 1, 1),
            new_date_of_birth=datetime.date(1980, 1, 2),
            reason="Typed a day off at sign-up.",
            corrected_by_id=staff.admin,
            corrected_at=now - datetime.timedelta(days=rng.randint(1, 900)),
        )
        for client in chosen[:10]
    )
    SecondFactorReset.objects.bulk_create(
        SecondFactorReset(
            user_id=user,
            reset_by_id=staff.admin,
            reset_at=now - datetime.timedelta(days=rng.randint(1, 900)),
        )
        for user in [*staff.reviewers, *staff.desk]
    )
