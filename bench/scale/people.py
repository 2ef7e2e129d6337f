"""The chain's catalogue, rooms, staff, therapists and clients, and the clients' screenings.

Small tables go through the ORM; users, clients and screenings are COPYed (restore.Copier)
with ids chosen here, so the history can point at them without reading them back.
"""

import bisect
import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.management.commands.seed_demo import EQUIPMENT, TREATMENTS
from appointments.models import (
    Equipment,
    Qualification,
    Room,
    Therapist,
    TimeOff,
    Treatment,
    WorkingHours,
)
from clients.models import User
from screening import rules
from screening.models import HealthScreening

from .restore import Copier, text

A60, A90, ROPE75, SWEDISH = "ashiatsu-60", "ashiatsu-90", "floor-back-walking-rope", "swedish-60"
BARS, ROPE, TABLE = "Overhead bars", "Floor mat with rope", "Massage table"

# Kinds of room, their equipment and their share of the chain's rooms.
ROOM_KINDS = {
    "bars": ([BARS, TABLE], 85),
    "all": ([BARS, TABLE, ROPE], 40),
    "rope": ([ROPE, TABLE], 25),
    "table": ([TABLE], 30),
}
# Kinds of therapist: what they give, the rooms they can work in (best first), their share.
# 200 + 77 of 430 give Ashiatsu 60: the treatment page's calendar has 277 therapists.
PROFILES = {
    "bars": ([A60, A90, SWEDISH], ["bars", "all"], 200),
    "all": ([A60, ROPE75, SWEDISH], ["all"], 77),
    "rope": ([ROPE75, SWEDISH], ["rope", "all"], 60),
    "table": ([SWEDISH], ["table", "rope", "bars", "all"], 93),
}
WORKING_DAYS = 5  # of 7: the chain opens every day
# Two shifts a day; each is four slots of the 105-minute grid (history.SLOT).
SHIFTS = {"early": ("08:00", "15:00"), "late": ("15:00", "22:00")}

_FIRST_NAMES = (
    "Ana Ben Chloe Dara Eli Farah Gus Hana Ivan Jade Kofi Lena Maya Nia Omar Priya Quinn Rosa "
    "Sven Tara Uma Vik Wren Xena Yusuf Zoe Aiko Bo Chidi Esme Finn Greta Hugo Ines Jonas Kai "
    "Lars Mina Noor Olu Pia Rafael Sara Tomas Una Vera Will Yara Zain Amara Bruno Carmen Diego "
    "Elif Femi Gwen Hiro Isla Joao Kemi Liam Marta Nikos Orla Paulo Rhea Sami Teo Ugo Valentina "
    "Wei Ximena Yann Zara Abdul Bea Cyrus Dita Emeka Fleur Goran Hedda Idris Juno Kasia Luca "
    "Mehmet Nadia Oskar Petra Rui Saoirse Tiago Ulla Viggo Wanda Yosef Zsofia"
)
_LAST_NAMES = (
    "Smith Jones Okafor Lindqvist Byrne Laurent Haddad Petrov Nakamura Silva Kowalski Novak "
    "Murphy Rossi Garcia Muller Dubois Jensen Nguyen Patel Khan Ahmed Costa Ferreira Santos "
    "Oliveira Moreau Bianchi Romano Schmidt Fischer Weber Meyer Wagner Becker Hoffmann Schulz "
    "Koch Richter Klein Wolf Neumann Schwarz Zimmermann Braun Hofmann Hartmann Lange Schmitt "
    "Werner Krause Meier Lehmann Huber Kaiser Fuchs Peters Lang Scholz Moller Weiss Jung Hahn "
    "Vogel Friedrich Keller Gunther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Ludwig Winter Kraus Martin Schumacher Kruger Vogt Stein Jager Otto Sommer Gross Seidel "
    "Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Pohl Engel Horn Busch "
    "OBrien Walsh Kelly Ryan Doyle McCarthy Gallagher Kennedy Lynch Murray Quinn Moore"
)
FIRST_NAMES, LAST_NAMES = _FIRST_NAMES.split(), _LAST_NAMES.split()

# The encrypted columns hold Fernet tokens: a few are made once with the app's own field
# encryption and shared (encrypting 286,000 screenings one by one would take minutes).
ANSWER_PROFILES = [
    # (weight, answers)
    (80, rules.nothing_to_declare()),
    (
        8,
        rules.nothing_to_declare(
            pressure_preference=rules.Pressure.FIRM, areas_to_avoid="left shoulder"
        ),
    ),
    (7, rules.nothing_to_declare(back_pain_under_care=True)),
    (3, rules.nothing_to_declare(disc_disorder=True)),
    (2, rules.nothing_to_declare(fragile_bones=True)),
]
# The review queue: screenings that need a human, all from the last few days (reviewers
# keep up), about 150 in the full chain.
PENDING_DAYS = 3
QUEUE_PER_100_000_CLIENTS = 150
REVIEW_LAG = datetime.timedelta(days=1)


@dataclass
class Catalogue:
    treatments: dict[str, Treatment]
    rooms: dict[str, list[int]]  # room ids by kind of room
    room_kind: dict[int, str]


@dataclass
class Staff:
    admin: int
    reviewers: list[int]
    desk: list[int]


@dataclass
class TherapistPlan:
    therapist_id: int
    user_id: int
    profile: str
    shift: str
    weekdays: frozenset[int]
    days_off: set[datetime.date] = field(default_factory=set)


@dataclass
class Screenings:
    """Each client's screenings, oldest first: submission times (epoch seconds) and ids."""

    times: dict[int, list[float]]
    ids: dict[int, list[int]]
    pending_clients: list[int]  # clients whose latest screening waits for a review
    decided: list[tuple[int, int, str]]  # (screening id, client id, decided_at) for notices

    def on(self, client_id: int, moment: float) -> int | None:
        """The client's latest screening submitted by `moment`, else their first."""
        times = self.times.get(client_id)
        if not times:
            return None
        index = bisect.bisect_right(times, moment) - 1
        return self.ids[client_id][max(index, 0)]

    def latest(self, client_id: int) -> int | None:
        ids = self.ids.get(client_id)
        return ids[-1] if ids else None


def catalogue(room_count: int) -> Catalogue:
    equipment = {
        name: Equipment.objects.create(name=name, description=description)
        for name, description in EQUIPMENT.items()
    }
    treatments = {}
    for spec in TREATMENTS:
        treatment = Treatment.objects.create(
            **{key: value for key, value in spec.items() if key != "equipment"}
        )
        treatment.equipment.set([equipment[name] for name in spec["equipment"]])
        treatments[spec["slug"]] = treatment
    counts = _shares({kind: share for kind, (_, share) in ROOM_KINDS.items()}, room_count)
    rooms: dict[str, list[int]] = {}
    room_kind = {}
    through = []
    number = 0
    for kind, count in counts.items():
        created = Room.objects.bulk_create(
            Room(name=f"Room {number + n + 1:03d}") for n in range(count)
        )
        number += count
        rooms[kind] = [room.pk for room in created]
        for room in created:
            room_kind[room.pk] = kind
            through += [
                Room.equipment.through(room_id=room.pk, equipment_id=equipment[name].pk)
                for name in ROOM_KINDS[kind][0]
            ]
    Room.equipment.through.objects.bulk_create(through)
    return Catalogue(treatments=treatments, rooms=rooms, room_kind=room_kind)


def _shares(weights: dict[str, int], total: int) -> dict[str, int]:
    """`total` split by `weights`, at least one each."""
    counts = {
        kind: max(1, round(total * weight / sum(weights.values())))
        for kind, weight in weights.items()
    }
    largest = max(counts, key=counts.get)
    counts[largest] += total - sum(counts.values())
    return counts


def users_and_clients(
    *, rng: random.Random, size, now: datetime.datetime, first_day: datetime.date, persona: dict
) -> tuple[Staff, list[int], set[int], dict[int, str]]:
    """Staff, therapist and client accounts, and the clients. Returns the staff, the therapist
    user ids, the ids of clients under 18, and the client names (for signatures)."""
    password = make_password(None)  # nobody logs in with a password: sessions are forced
    users = Copier(
        "clients_user",
        [
            "id",
            "password",
            "last_login",
            "is_superuser",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ],
    )
    joined = text(now - datetime.timedelta(days=5 * 365 + 200))
    staff_emails = ["admin", "reviewer1", "reviewer2", "desk1", "desk2"]
    for number, name in enumerate(staff_emails, start=1):
        users.add(
            f"{number}\t{password}\t\\N\t{'t' if name == 'admin' else 'f'}\t"
            f"{name}@chain.example\tt\tt\t{joined}"
        )
    staff = Staff(admin=1, reviewers=[2, 3], desk=[4, 5])
    first_therapist = len(staff_emails) + 1
    therapist_users = list(range(first_therapist, first_therapist + size.therapists))
    for user_id in therapist_users:
        users.add(
            f"{user_id}\t{password}\t\\N\tf\ttherapist{user_id - first_therapist + 1:03d}"
            f"@chain.example\tf\tt\t{joined}"
        )
    first_client_user = first_therapist + size.therapists
    clients = Copier(
        "clients_client",
        ["id", "user_id", "full_name", "phone", "date_of_birth", "created_at", "erased_at"],
    )
    today = now.date()
    adult_latest = today.replace(year=today.year - 24).toordinal()
    adult_earliest = datetime.date(1945, 1, 1).toordinal()
    minor_latest = today.replace(year=today.year - 13).toordinal()
    minor_earliest = today.replace(year=today.year - 17).toordinal() + 30
    minors = set()
    names = {}
    history_days = (now.date() - first_day).days
    for client_id in range(1, size.clients + 1):
        user_id = first_client_user + client_id - 1
        if client_id == persona["client"]:
            first, last = persona["name"].split()
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        names[client_id] = name
        email = f"{first}.{last}.{client_id}@example.com".lower()
        phone_digits = f"{400000000 + client_id * 37:09d}"
        phone = f"07{phone_digits[:3]} {phone_digits[3:]}"
        minor = client_id != persona["client"] and rng.random() < 0.01
        if minor:
            minors.add(client_id)
            born = rng.randint(minor_earliest, minor_latest)
        else:
            born = rng.randint(adult_earliest, adult_latest)
        # Most clients were with the chain before the history starts; the rest joined since.
        days_ago = (
            rng.randint(history_days, history_days + 700)
            if rng.random() < 0.6
            else (rng.randint(1, history_days))
        )
        created = text(now - datetime.timedelta(days=days_ago, seconds=rng.randint(0, 86_399)))
        last_login = (
            text(now - datetime.timedelta(seconds=rng.randint(60, 90 * 86_400)))
            if rng.random() < 0.6
            else "\\N"
        )
        users.add(f"{user_id}\t{password}\t{last_login}\tf\t{email}\tf\tt\t{created}")
        clients.add(
            f"{client_id}\t{user_id}\t{name}\t{phone}\t"
            f"{datetime.date.fromordinal(born).isoformat()}\t{created}\t\\N"
        )
    users.close()
    clients.close()
    return staff, therapist_users, minors, names


def groups_and_devices(staff: Staff, therapist_users: list[int]) -> None:
    """Reviewers and the front desk in their groups (made by the migrations); an authenticator
    app for everyone who signs in with a second factor."""
    reviewers = Group.objects.get(name="Screening reviewers")
    desk = Group.objects.get(name="Front desk")
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=user, group_id=reviewers.pk) for user in staff.reviewers]
        + [User.groups.through(user_id=user, group_id=desk.pk) for user in staff.desk]
    )
    everyone = [staff.admin, *staff.reviewers, *staff.desk, *therapist_users]
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user_id=user, name="Authenticator app", confirmed=True) for user in everyone
    )


def therapists(
    *,
    rng: random.Random,
    therapist_users: list[int],
    cat: Catalogue,
    today: datetime.date,
    first_day: datetime.date,
) -> list[TherapistPlan]:
    """Therapists with their qualifications, weekly hours (five days, one shift) and time
    off: the years' holidays and sick days behind them, and some holidays booked ahead."""
    counts = _shares(
        {profile: share for profile, (_, _, share) in PROFILES.items()}, len(therapist_users)
    )
    profiles = [profile for profile, count in counts.items() for _ in range(count)]
    rng.shuffle(profiles)
    created = Therapist.objects.bulk_create(
        Therapist(
            user_id=user_id,
            display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)[0]}.",
            bio="Certified, calm and precise.",
        )
        for user_id in therapist_users
    )
    plans = []
    qualifications = []
    hours = []
    for index, (therapist, profile) in enumerate(zip(created, profiles, strict=True)):
        shift = "early" if index % 2 == 0 else "late"
        weekdays = frozenset(rng.sample(range(7), WORKING_DAYS))
        plans.append(TherapistPlan(therapist.pk, therapist.user_id, profile, shift, weekdays))
        opens, closes = (datetime.time.fromisoformat(value) for value in SHIFTS[shift])
        hours += [
            WorkingHours(therapist=therapist, weekday=day, starts_at=opens, ends_at=closes)
            for day in sorted(weekdays)
        ]
        for slug in PROFILES[profile][0]:
            # A few back-walking certificates run out in the coming weeks.
            expires = (
                today + datetime.timedelta(days=rng.randint(10, 50))
                if slug == A60 and rng.random() < 0.03
                else None
            )
            qualifications.append(
                Qualification(
                    therapist=therapist, treatment=cat.treatments[slug], expires_on=expires
                )
            )
    WorkingHours.objects.bulk_create(hours)
    Qualification.objects.bulk_create(qualifications)
    tz = _zone()
    time_off = []

    def away(plan: TherapistPlan, first: datetime.date, days: int, reason: str) -> None:
        dates = {first + datetime.timedelta(days=n) for n in range(days)}
        if dates & plan.days_off:
            return  # already away then
        plan.days_off |= dates  # the history books nobody with them on those days
        time_off.append(
            TimeOff(
                therapist_id=plan.therapist_id,
                starts_at=datetime.datetime.combine(first, datetime.time.min, tzinfo=tz),
                ends_at=datetime.datetime.combine(
                    first + datetime.timedelta(days=days), datetime.time.min, tzinfo=tz
                ),
                reason=reason,
            )
        )

    # The years behind: two weeks' holiday and four sick days a year each (the table grows
    # with the history, as the appointments do).
    past_days = (today - first_day).days - 7
    years = max(1, round(past_days / 365))
    for plan in plans:
        for days, reason, times in ((7, "Holiday", 2 * years), (1, "Ill", 4 * years)):
            for _ in range(times):
                first = first_day + datetime.timedelta(days=rng.randrange(past_days))
                away(plan, first, days, reason)
        # One in twenty takes a week off in the coming weeks (booked holidays).
        if rng.random() < 0.05:
            away(plan, today + datetime.timedelta(days=rng.randint(7, 45)), 7, "Holiday")
    TimeOff.objects.bulk_create(time_off)
    return plans


def _zone():
    from appointments.free_times import spa_time_zone

    return spa_time_zone()


@dataclass(frozen=True)
class _Profile:
    weight: int
    answers: str
    outcome: str
    reasons: str
    notes: str
    note_can_clear: bool


def _encrypted(model, name: str, value) -> str:
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def _answer_profiles(today: datetime.date) -> list[_Profile]:
    profiles = []
    for weight, answers in ANSWER_PROFILES:
        triage = rules.triage(answers, today=today)
        profiles.append(
            _Profile(
                weight=weight,
                answers=_encrypted(HealthScreening, "answers", answers.to_json()),
                outcome=triage.outcome.value,
                reasons=_encrypted(HealthScreening, "reasons", list(triage.reasons)),
                notes=_encrypted(HealthScreening, "therapist_notes", list(triage.therapist_notes)),
                note_can_clear=triage.note_can_clear,
            )
        )
    return profiles


def screenings(
    *,
    rng: random.Random,
    size,
    now: datetime.datetime,
    first_day: datetime.date,
    staff: Staff,
    minors: set[int],
    persona: dict,
) -> Screenings:
    """About 2.9 screenings per client over the history; the persona's latest is cleared and
    recent, so they can book back-walking; a few recent ones wait in the review queue."""
    today = now.date()
    profiles = _answer_profiles(today)
    weights = [profile.weight for profile in profiles]
    signatures = [
        _encrypted(HealthScreening, "signature_name", name)
        for name in ("Sam Signer", "Alex Example", "Jo Client", "Kim Person")
    ]
    persona_signature = _encrypted(HealthScreening, "signature_name", persona["name"])
    declined_note = _encrypted(
        HealthScreening, "review_note", "Back pain under care: ask for the physiotherapist's note."
    )
    valid_months = settings.SPA_SCREENING_VALID_MONTHS
    start = datetime.datetime.combine(first_day, datetime.time(9), tzinfo=datetime.UTC).timestamp()
    end = now.timestamp() - 3 * 86_400
    pending_after = now.timestamp() - PENDING_DAYS * 86_400
    per_client = size.screenings / (size.clients - len(minors))
    to_review = next(p for p in profiles if p.outcome == rules.Outcome.NEEDS_REVIEW.value)
    queued = set(
        rng.sample(
            [c for c in range(2, size.clients + 1) if c not in minors],
            max(3, size.clients * QUEUE_PER_100_000_CLIENTS // 100_000),
        )
    )
    rows = Copier(
        "screening_healthscreening",
        [
            "id",
            "client_id",
            "questionnaire_version",
            "answers",
            "signature_name",
            "consented_at",
            "submitted_at",
            "outcome",
            "eligible_from",
            "reasons",
            "therapist_notes",
            "valid_until",
            "review",
            "reviewed_by_id",
            "reviewed_at",
            "review_note",
            "therapist_note",
            "cleared_on_doctors_note",
            "note_can_clear",
        ],
    )
    decisions = Copier(
        "screening_screeningdecision",
        ["id", "screening_id", "decision", "decided_by_id", "decided_at", "note"],
    )
    result = Screenings(
        times=defaultdict(list), ids=defaultdict(list), pending_clients=[], decided=[]
    )
    screening_id = 0
    made = 0
    for client_id in range(1, size.clients + 1):
        if client_id in minors:
            continue  # back-walking is for adults: minors are never screened for it
        count = int(per_client) + (rng.random() < per_client - int(per_client))
        is_persona = client_id == persona["client"]
        if is_persona:
            count = 6
        count = min(count, size.screenings - made)
        # The persona's last screening is two months old: the ones before it come earlier.
        until = now.timestamp() - 61 * 86_400 if is_persona else end
        span = (until - start) / max(count, 1)
        previous = start
        for number in range(count):
            screening_id += 1
            made += 1
            moment = start + span * (number + rng.random())
            profile = rng.choices(profiles, weights)[0]
            last = number == count - 1
            if is_persona and last:
                moment, profile = now.timestamp() - 60 * 86_400, profiles[0]
            elif last and client_id in queued:
                moment, profile = rng.uniform(pending_after, now.timestamp() - 3 * 3600), to_review
            moment = previous = max(moment, previous + 60)  # oldest first, for Screenings.on
            submitted = datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)
            review, reviewer, reviewed_at, note = "not_needed", "\\N", "\\N", ""
            if profile.outcome == rules.Outcome.NEEDS_REVIEW.value:
                if moment >= pending_after:
                    review = "pending"
                    result.pending_clients.append(client_id)
                else:
                    declined = rng.random() < 0.15
                    review = "declined" if declined else "approved"
                    note = declined_note if declined else ""
                    reviewer = str(rng.choice(staff.reviewers))
                    reviewed_at = text(submitted + REVIEW_LAG)
                    decisions.add(
                        f"{screening_id}\t{screening_id}\t{review}\t{reviewer}\t{reviewed_at}\t"
                        f"{note}"
                    )
                    result.decided.append((screening_id, client_id, reviewed_at))
            stamp = text(submitted)
            valid = rules.valid_until(submitted.date(), valid_months).isoformat()
            signature = persona_signature if is_persona else rng.choice(signatures)
            rows.add(
                f"{screening_id}\t{client_id}\t{rules.QUESTIONNAIRE_VERSION}\t{profile.answers}\t"
                f"{signature}\t{stamp}\t{stamp}\t{profile.outcome}\t\\N\t{profile.reasons}\t"
                f"{profile.notes}\t{valid}\t{review}\t{reviewer}\t{reviewed_at}\t{note}\t\t"
                f"f\t{'t' if profile.note_can_clear else 'f'}"
            )
            result.times[client_id].append(moment)
            result.ids[client_id].append(screening_id)
    rows.close()
    decisions.close()
    # Only clients whose *latest* screening waits can be held for it.
    result.pending_clients = [
        client
        for client in dict.fromkeys(result.pending_clients)
        if result.times[client][-1] >= pending_after
    ]
    return result
