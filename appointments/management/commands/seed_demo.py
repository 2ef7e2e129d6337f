"""Fill an empty database with a small, believable spa; safe to run again."""

import dataclasses
import datetime
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from appointments import free_times, services
from appointments.models import (
    Appointment,
    Equipment,
    Qualification,
    Room,
    Therapist,
    Treatment,
    WorkingHours,
)
from clients.models import Client, User
from clients.services import correct_date_of_birth
from screening import rules
from screening.services import submit_screening

DEMO_PASSWORD = "spa-demo-2026"

EQUIPMENT = {
    "Overhead bars": "Ceiling-mounted bars the therapist holds for balance.",
    "Floor mat with rope": "A padded floor mat with a rope hung above it.",
    "Massage table": "A padded treatment table.",
}

TREATMENTS = [
    {
        "slug": "ashiatsu-60",
        "name": "Ashiatsu back-walking, 60 minutes",
        "summary": "Deep, flowing pressure from the therapist's bare feet, holding overhead bars.",
        "description": (
            "Our signature treatment. You lie on a padded table while your therapist, holding "
            "the overhead bars, uses their feet to give long, deep strokes along your back, legs "
            "and shoulders. Firmer than a hand massage and often a little uncomfortable at first; "
            "tell your therapist at any time if you want less pressure."
        ),
        "duration_minutes": 60,
        "buffer_minutes": 15,
        "price": Decimal("85.00"),
        "is_back_walking": True,
        "equipment": ["Overhead bars", "Massage table"],
        "position": 1,
    },
    {
        "slug": "ashiatsu-90",
        "name": "Ashiatsu back-walking, 90 minutes",
        "summary": "The full signature treatment, with time for the neck, hips and legs.",
        "description": (
            "Everything in the 60-minute treatment, with more time for the areas that need it "
            "most. Recommended once you have had a shorter session with us."
        ),
        "duration_minutes": 90,
        "buffer_minutes": 15,
        "price": Decimal("120.00"),
        "is_back_walking": True,
        "equipment": ["Overhead bars", "Massage table"],
        "position": 2,
    },
    {
        "slug": "floor-back-walking-rope",
        "name": "Floor back-walking with rope, 75 minutes",
        "summary": "A traditional floor style: long foot strokes while the therapist holds a rope.",
        "description": (
            "Inspired by the South Indian floor tradition. You lie on a warm floor mat and the "
            "therapist holds a rope hung above you to control their weight, working with long, "
            "sweeping strokes of the feet."
        ),
        "duration_minutes": 75,
        "buffer_minutes": 15,
        "price": Decimal("100.00"),
        "is_back_walking": True,
        "equipment": ["Floor mat with rope"],
        "position": 3,
    },
    {
        "slug": "swedish-60",
        "name": "Swedish massage, 60 minutes",
        "summary": "A classic relaxing full-body massage by hand, with medium pressure.",
        "description": (
            "Long, gliding strokes and gentle kneading to ease tension and help you relax. "
            "Suitable for most people, including first-time visitors."
        ),
        "duration_minutes": 60,
        "buffer_minutes": 10,
        "price": Decimal("70.00"),
        "is_back_walking": False,
        "equipment": ["Massage table"],
        "position": 4,
    },
]

ROOMS = {
    "Bamboo room": ["Overhead bars", "Massage table"],
    "Cedar room": ["Overhead bars", "Massage table", "Floor mat with rope"],
    "Willow room": ["Massage table"],
}

# (email, display name, bio, treatment slugs, {weekday: [(start, end), ...]})
THERAPISTS = [
    (
        "maya@spa.example",
        "Maya",
        "Certified Ashiatsu therapist for eight years; calm, precise and good with first-timers.",
        ["ashiatsu-60", "ashiatsu-90", "swedish-60"],
        {
            0: [("09:00", "17:00")],
            1: [("09:00", "17:00")],
            2: [("09:00", "13:00"), ("15:00", "19:00")],
            3: [("09:00", "17:00")],
            4: [("09:00", "15:00")],
        },
    ),
    (
        "kai@spa.example",
        "Kai",
        "Trained in floor back-walking with rope and in Swedish massage.",
        ["floor-back-walking-rope", "swedish-60", "ashiatsu-60"],
        {
            1: [("12:00", "20:00")],
            2: [("12:00", "20:00")],
            3: [("12:00", "20:00")],
            5: [("10:00", "14:00"), ("15:00", "18:00")],
        },
    ),
    (
        "priya@spa.example",
        "Priya",
        "Swedish massage specialist with a gentle touch.",
        ["swedish-60"],
        {
            0: [("10:00", "18:00")],
            2: [("10:00", "18:00")],
            4: [("10:00", "18:00")],
            5: [("09:00", "13:00")],
        },
    ),
]


# Other clients who fill the demo week: (email, name, date of birth)
REGULARS = [
    ("bo@spa.example", "Bo Lindqvist", datetime.date(1984, 7, 2)),
    ("chidi@spa.example", "Chidi Okafor", datetime.date(1979, 11, 19)),
    ("dara@spa.example", "Dara Byrne", datetime.date(1995, 1, 8)),
    ("esme@spa.example", "Esme Laurent", datetime.date(1968, 5, 30)),
    ("farah@spa.example", "Farah Haddad", datetime.date(1991, 9, 14)),
    ("gus@spa.example", "Gus Petrov", datetime.date(1988, 2, 29)),
]
# No free text: anything typed goes to a reviewer, and the regulars are cleared.
DEMO_ANSWERS = rules.nothing_to_declare(pressure_preference=rules.Pressure.FIRM)
DEMO_WEEK_DAYS = 7
DEMO_OCCUPANCY = 0.6


def _time(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


class Command(BaseCommand):
    help = "Load demo treatments, rooms, therapists and accounts. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DJANGO_DEBUG off. The demo accounts have a published password.",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it only runs with "
                "DJANGO_DEBUG=on (or --allow-production for a throwaway database)."
            )
        with transaction.atomic():
            admin = self._account("admin@spa.example", is_staff=True, is_superuser=True)
            self._catalogue()
            self._therapists()
            reviewer = self._account("reviewer@spa.example", is_staff=True)
            reviewers, _ = Group.objects.get_or_create(name="Screening reviewers")
            reviewer.groups.add(reviewers)
            desk = self._account("desk@spa.example", is_staff=True)
            desk.groups.add(Group.objects.get_or_create(name="Front desk")[0])
            today = timezone.localdate()
            self._client(
                "ana@spa.example", "Ana Adult", "07700 900101", datetime.date(1990, 3, 27), admin
            )
            self._client(
                "theo@spa.example", "Theo Teen", "07700 900102", _seventeen_today(today), admin
            )
            for number, (email, name, born) in enumerate(REGULARS):
                self._client(email, name, f"07700 9002{number:02d}", born, admin)
        self._screenings()
        booked = self._demo_week()
        if booked:
            self.stdout.write(f"Booked {booked} demo appointments for the coming week.")
        self._print_logins()

    def _account(self, email: str, *, is_staff: bool = False, is_superuser: bool = False) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"is_staff": is_staff, "is_superuser": is_superuser}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _catalogue(self) -> None:
        equipment = {}
        for name, description in EQUIPMENT.items():
            equipment[name], _ = Equipment.objects.update_or_create(
                name=name, defaults={"description": description}
            )
        for spec in TREATMENTS:
            fields = {k: v for k, v in spec.items() if k not in ("slug", "equipment")}
            treatment, _ = Treatment.objects.update_or_create(slug=spec["slug"], defaults=fields)
            treatment.equipment.set([equipment[name] for name in spec["equipment"]])
        for name, items in ROOMS.items():
            room, _ = Room.objects.get_or_create(name=name)
            room.equipment.set([equipment[item] for item in items])

    def _therapists(self) -> None:
        for email, name, bio, slugs, week in THERAPISTS:
            user = self._account(email)
            therapist, _ = Therapist.objects.update_or_create(
                user=user, defaults={"display_name": name, "bio": bio}
            )
            for slug in slugs:
                Qualification.objects.get_or_create(
                    therapist=therapist, treatment=Treatment.objects.get(slug=slug)
                )
            if not therapist.working_hours.exists():
                WorkingHours.objects.bulk_create(
                    WorkingHours(
                        therapist=therapist, weekday=day, starts_at=_time(start), ends_at=_time(end)
                    )
                    for day, blocks in week.items()
                    for start, end in blocks
                )

    def _client(
        self, email: str, name: str, phone: str, date_of_birth: datetime.date, admin: User
    ) -> None:
        user = self._account(email)
        client, created = Client.objects.get_or_create(
            user=user, defaults={"full_name": name, "phone": phone, "date_of_birth": date_of_birth}
        )
        if not created and client.date_of_birth != date_of_birth:
            # Keeps the teenage demo client 17 on a long-lived database, through
            # the same recorded correction staff would make.
            correct_date_of_birth(
                client=client,
                new_date_of_birth=date_of_birth,
                corrected_by=admin,
                reason="Demo data refreshed by seed_demo.",
            )

    def _screenings(self) -> None:
        """Ana and the regulars are cleared; Dara's back pain (under a physio) waits in the review
        queue."""
        cleared = [email for email, _, _ in REGULARS if email != "dara@spa.example"]
        for client in Client.objects.filter(user__email__in=["ana@spa.example", *cleared]):
            if not client.screenings.exists():
                submit_screening(
                    client=client,
                    answers=DEMO_ANSWERS,
                    signature_name=client.full_name,
                    consent=True,
                )
        dara = Client.objects.get(user__email="dara@spa.example")
        if not dara.screenings.exists():
            submit_screening(
                client=dara,
                answers=dataclasses.replace(DEMO_ANSWERS, back_pain_under_care=True),
                signature_name=dara.full_name,
                consent=True,
            )

    def _demo_week(self) -> int:
        """Fill about 60% of the coming week, through the booking service like any client."""
        if Appointment.objects.filter(starts_at__gte=timezone.now()).exists():
            return 0
        rng = random.Random(2026)
        clients = list(Client.objects.filter(user__email__in=[r[0] for r in REGULARS]))
        clients.append(Client.objects.get(user__email="ana@spa.example"))
        first, _ = free_times.bookable_days()
        booked = 0
        for therapist in Therapist.objects.active().prefetch_related("treatments"):
            treatments = list(therapist.treatments.active())
            for offset in range(DEMO_WEEK_DAYS):
                day = first + datetime.timedelta(days=offset)
                booked += self._fill_day(rng, therapist, treatments, clients, day)
        return booked

    def _fill_day(self, rng, therapist, treatments, clients, day) -> int:
        booked = 0
        treatment = rng.choice(treatments)
        slots = free_times.free_slots(
            treatment=treatment, first_day=day, last_day=day, therapist_id=therapist.pk
        )
        taken_until = None
        for slot in slots:
            if taken_until and slot.start < taken_until:
                continue
            if rng.random() > DEMO_OCCUPANCY:
                continue
            try:
                # Demo bookings email nobody: the confirmation each one owes is
                # dropped before it commits, so no sender ever sees it.
                with transaction.atomic():
                    appointment = services.book_appointment(
                        client=rng.choice(clients),
                        treatment=treatment,
                        start=slot.start,
                        therapist=therapist,
                        health_unchanged=True,
                    )
                    appointment.notices.all().delete()
            except services.BookingError:
                continue
            taken_until = appointment.blocked_until
            booked += 1
            treatment = rng.choice(treatments)
        return booked

    def _print_logins(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in with:"))
        rows = [
            ("Client (adult)", "ana@spa.example"),
            ("Client (17 years old)", "theo@spa.example"),
            ("Client (held for review)", "dara@spa.example"),
            ("Therapist", "maya@spa.example"),
            ("Therapist", "kai@spa.example"),
            ("Therapist", "priya@spa.example"),
            ("Screening reviewer (admin)", "reviewer@spa.example"),
            ("Front desk (day book)", "desk@spa.example"),
            ("Admin", "admin@spa.example"),
        ]
        for role, email in rows:
            self.stdout.write(f"  {role:<28} {email:<24} password: {DEMO_PASSWORD}")


def _seventeen_today(today: datetime.date) -> datetime.date:
    """A date of birth that makes someone 17 years and about four months old today."""
    birthday = today - datetime.timedelta(days=120)
    try:
        return birthday.replace(year=birthday.year - 17)
    except ValueError:  # 29 February in a common year
        return birthday.replace(year=birthday.year - 17, day=28)
