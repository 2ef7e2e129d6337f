"""Five years of appointments and their emails, laid out so that nothing can overlap.

Every room runs a fixed grid of 105-minute slots from 08:00 (the longest treatment, 90
minutes, plus its 15-minute buffer), two shifts of four slots a day. On each day each
working therapist is bound to one room for their shift, so a room's slot has at most
one therapist and a therapist at most one room; each slot's clients are drawn without
replacement, so a client has at most one appointment at a time. The exclusion
constraints, built after the load, check all three.
"""

import datetime
import random
from dataclasses import dataclass

from appointments.free_times import spa_time_zone

from .people import PROFILES, ROOM_KINDS, SHIFTS, Catalogue, Screenings, TherapistPlan
from .restore import Copier, text

SLOT = datetime.timedelta(minutes=105)
SLOTS_PER_SHIFT = 4
CANCELLED_SHARE = 0.05  # extra cancelled rows, which hold no time
NO_SHOW_SHARE = 0.035
HOLD_SHARE = 0.01  # of upcoming back-walking bookings in the next two weeks
FOLLOW_UP_SHARE = 0.002
POPULARITY = {"ashiatsu-60": 4, "ashiatsu-90": 2, "floor-back-walking-rope": 1, "swedish-60": 4}
REMINDER_LEAD = datetime.timedelta(hours=24)
# Days back that still have reminders in the outbox, and how far ahead they are written
# already: send_reminders then finds the last hour of its 24-hour window still to do.
REMINDERS_BACK = datetime.timedelta(days=3)
REMINDED_AHEAD = datetime.timedelta(hours=22)
BOOKED_AHEAD = datetime.timedelta(days=45)
CHECKED_BACK = datetime.timedelta(days=30)  # pre-session checks kept for recent sessions
# Notices of the last minutes are still owed in part: send_notices' pass has some work.
UNSENT_WINDOW = datetime.timedelta(hours=2)
UNSENT_SHARE = 0.3
GIVEN_UP_SHARE = 0.0005
SKIPPED_SHARE = 0.002
APPOINTMENT_COLUMNS = [
    "id", "client_id", "therapist_id", "treatment_id", "room_id", "starts_at", "ends_at",
    "blocked_until", "status", "created_at", "updated_at", "cancelled_at",
    "cancellation_reason", "revision", "reminder_sent_at", "screening_id", "hold_expires_at",
    "needs_follow_up", "arrived_at",
]  # fmt: skip


@dataclass
class History:
    active: int
    cancelled: int
    held: int
    past_fill: float
    persona_past: int
    persona_upcoming: int


class Outbox:
    """Notice rows: mostly sent; some of the last two hours' still owed, a few given up."""

    COLUMNS = [
        "id", "appointment_id", "screening_id", "user_id", "waitlist_offer_id",
        "requested_from", "kind", "revision", "created_at", "next_attempt_at", "attempts",
        "last_error", "sent_at", "skipped_at", "given_up_at",
    ]  # fmt: skip

    def __init__(self, rng: random.Random, now: datetime.datetime) -> None:
        self.rng = rng
        self.recent = now - UNSENT_WINDOW
        self.copier = Copier("appointments_notice", self.COLUMNS)
        self.count = 0

    def add(
        self,
        *,
        kind: str,
        created: datetime.datetime,
        revision: int = 0,
        appointment: int | None = None,
        screening: int | None = None,
        user: int | None = None,
        offer: int | None = None,
    ) -> None:
        self.count += 1
        at = text(created)
        draw = self.rng.random()
        if created > self.recent and draw < UNSENT_SHARE:
            state = f"{at}\t0\t\t\\N\t\\N\t\\N"  # owed: send_notices' next pass sends it
        elif draw < GIVEN_UP_SHARE:
            error = "SMTPRecipientsRefused: the mail server refused the address"
            state = f"{at}\t5\t{error}\t\\N\t\\N\t{at}"
        elif draw < GIVEN_UP_SHARE + SKIPPED_SHARE:
            state = f"{at}\t0\t\t\\N\t{at}\t\\N"
        else:
            state = f"{at}\t1\t\t{at}\t\\N\t\\N"
        ids = "\t".join(
            "\\N" if value is None else str(value)
            for value in (appointment, screening, user, offer)
        )
        self.copier.add(f"{self.count}\t{ids}\t\t{kind}\t{revision}\t{at}\t{state}")

    def close(self) -> int:
        return self.copier.close()


def _future_fill(days_ahead: int, horizon: int) -> float:
    """Tomorrow is nearly full, two months ahead nearly empty: people book a few weeks out."""
    return 0.85 * max(0.0, 1 - days_ahead / (horizon + 1)) ** 1.3 + 0.02


@dataclass(frozen=True)
class _Pair:
    """A therapist in a room for a shift, with the treatments they can give there."""

    plan: TherapistPlan
    room: int
    treatments: tuple  # Treatment objects
    weights: tuple[int, ...]


def _rosters(
    *, rng: random.Random, plans: list[TherapistPlan], cat: Catalogue, days: list[datetime.date]
) -> dict[tuple[datetime.date, str], list[_Pair]]:
    """Who works where: each working therapist gets a room of a kind they can use."""
    by_shift: dict[tuple[int, str], list[TherapistPlan]] = {}
    # Therapists who need the rarest rooms choose first.
    order = {"all": 0, "rope": 1, "bars": 2, "table": 3}
    for plan in sorted(plans, key=lambda plan: order[plan.profile]):
        for weekday in plan.weekdays:
            by_shift.setdefault((weekday, plan.shift), []).append(plan)
    room_treatments = {
        kind: {slug for slug, spec in cat.treatments.items() if _fits(spec, equipment)}
        for kind, (equipment, _) in ROOM_KINDS.items()
    }
    offers = {}
    for profile, (slugs, kinds, _) in PROFILES.items():
        for kind in kinds:
            given = tuple(cat.treatments[slug] for slug in slugs if slug in room_treatments[kind])
            offers[profile, kind] = (given, tuple(POPULARITY[t.slug] for t in given))
    rosters = {}
    for day in days:
        for shift in SHIFTS:
            free = {kind: rng.sample(rooms, len(rooms)) for kind, rooms in cat.rooms.items()}
            pairs = []
            for plan in by_shift.get((day.weekday(), shift), []):
                if day in plan.days_off:
                    continue
                for kind in PROFILES[plan.profile][1]:
                    if free[kind]:
                        given, weights = offers[plan.profile, kind]
                        pairs.append(_Pair(plan, free[kind].pop(), given, weights))
                        break
            rosters[day, shift] = pairs
    return rosters


def _fits(treatment, equipment: list[str]) -> bool:
    return {item.name for item in treatment.equipment.all()} <= set(equipment)


def write(
    *,
    rng: random.Random,
    size,
    now: datetime.datetime,
    first_day: datetime.date,
    last_day: datetime.date,
    cat: Catalogue,
    plans: list[TherapistPlan],
    screenings: Screenings,
    minors: set[int],
    persona: dict,
    outbox: Outbox,
) -> History:
    tz = spa_time_zone()
    today = now.astimezone(tz).date()
    days = [first_day + datetime.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    rosters = _rosters(rng=rng, plans=plans, cat=cat, days=days)
    horizon = (last_day - today).days
    past_cells = sum(
        len(rosters[day, shift]) * SLOTS_PER_SHIFT
        for day in days
        if day < today
        for shift in SHIFTS
    )
    future_expected = sum(
        len(rosters[day, shift]) * SLOTS_PER_SHIFT * _future_fill((day - today).days, horizon)
        for day in days
        if day >= today
        for shift in SHIFTS
    )
    active_target = size.appointments / (1 + CANCELLED_SHARE)
    past_fill = min(0.97, max(0.01, (active_target - future_expected) / max(past_cells, 1)))

    persona_id = persona["client"]
    # The persona comes every week or so: slots drawn from the past, and three upcoming ones
    # (in two days, in ten days, in three weeks) that they can open, move and cancel.
    past_slots = [
        (day, shift, k)
        for day in days
        if day < today
        for shift in SHIFTS
        if rosters[day, shift]
        for k in range(SLOTS_PER_SHIFT)
    ]
    forced = set(rng.sample(past_slots, min(persona["past"], len(past_slots))))
    for ahead in (2, 10, 21):
        day = today + datetime.timedelta(days=ahead)
        shift = next((shift for shift in SHIFTS if rosters.get((day, shift))), None)
        if shift is not None:
            forced.add((day, shift, 1))

    population = list(range(1, size.clients + 1))
    # Regulars: one client in seven comes four times as often as the others.
    population += [client for client in population if client % 7 == 0] * 3
    pending = list(screenings.pending_clients)
    rng.shuffle(pending)
    adults = [client for client in range(1, size.clients + 1) if client not in minors]

    appointments = Copier("appointments_appointment", APPOINTMENT_COLUMNS)
    checks = Copier(
        "appointments_presessioncheck",
        ["id", "appointment_id", "outcome", "reason", "recorded_by_id", "recorded_at"],
    )
    leads = [datetime.timedelta(hours=rng.randint(2, 48)) for _ in range(40)] + [
        datetime.timedelta(days=rng.randint(2, 45), minutes=rng.randint(0, 1439))
        for _ in range(160)
    ]
    history = History(0, 0, 0, past_fill, 0, 0)
    appointment_id = 0
    check_id = 0
    reminded_from, reminded_until = now - REMINDERS_BACK, now + REMINDED_AHEAD
    checked_from = now - CHECKED_BACK
    hold_until = now + datetime.timedelta(days=14)
    unclosed_from = now - datetime.timedelta(days=2)
    follow_up_from = now - datetime.timedelta(days=7)

    for day in days:
        fill = past_fill if day < today else _future_fill((day - today).days, horizon)
        for shift in SHIFTS:
            pairs = rosters[day, shift]
            if not pairs:
                continue
            opens = datetime.datetime.combine(
                day, datetime.time.fromisoformat(SHIFTS[shift][0]), tzinfo=tz
            )
            for k in range(SLOTS_PER_SHIFT):
                start = (opens + k * SLOT).astimezone(datetime.UTC)
                is_forced = (day, shift, k) in forced
                booked = [pair for pair in pairs if rng.random() < fill]
                if is_forced and not booked:
                    booked = [pairs[0]]
                if not booked:
                    continue
                drawn = rng.sample(population, min(len(population), len(booked) * 6 // 5 + 5))
                used: set[int] = set()
                queue = iter(drawn)
                waiting_minors: list[int] = []
                start_text = text(start)
                ends: dict[int, tuple[str, str, datetime.datetime]] = {}
                for index, pair in enumerate(booked):
                    treatment = (
                        pair.treatments[0]
                        if len(pair.treatments) == 1
                        else rng.choices(pair.treatments, pair.weights)[0]
                    )
                    back_walking = treatment.is_back_walking
                    future = start >= now
                    held = (
                        back_walking
                        and future
                        and start < hold_until
                        and pending
                        and rng.random() < HOLD_SHARE
                    )
                    if is_forced and index == 0:
                        client = persona_id
                        if future:
                            history.persona_upcoming += 1
                        else:
                            history.persona_past += 1
                    elif held:
                        client = pending.pop()
                        if client in used:
                            held, client = False, None
                    else:
                        client = None
                    if client is None:
                        if not back_walking and waiting_minors:
                            client = waiting_minors.pop()
                        else:
                            client = _next_client(queue, used, persona_id)
                            while client is not None and back_walking and client in minors:
                                waiting_minors.append(client)
                                client = _next_client(queue, used, persona_id)
                        if client is None:
                            continue  # the slot ran out of clients to draw (tiny seeds)
                    used.add(client)
                    if treatment.pk not in ends:
                        end = start + treatment.duration
                        ends[treatment.pk] = (
                            text(end),
                            text(end + treatment.buffer),
                            end,
                        )
                    end_text, blocked_text, end = ends[treatment.pk]

                    if held:
                        created = now - datetime.timedelta(seconds=rng.randint(3_600, 60 * 3_600))
                    elif future:
                        # Booked some time in the last weeks, no earlier than 45 days ahead.
                        earliest = max(start - BOOKED_AHEAD, now - BOOKED_AHEAD)
                        created = earliest + (now - earliest) * rng.random()
                    else:
                        created = start - leads[rng.randrange(len(leads))]
                    created_text = text(created)
                    hold, updated, arrived = "\\N", created_text, "\\N"
                    if held:
                        status = "pending_review"
                        expiry = min(
                            created + datetime.timedelta(hours=48),
                            start - datetime.timedelta(hours=4),
                        )
                        hold = text(expiry)
                        history.held += 1
                    elif future:
                        status = "confirmed"
                    elif start >= unclosed_from and rng.random() < 0.25:
                        status = "confirmed"  # not marked yet by the therapist or the desk
                    elif rng.random() < NO_SHOW_SHARE:
                        status, updated = "no_show", end_text
                    else:
                        status, updated = "completed", end_text
                    if day == today and not future and status != "no_show":
                        arrived = text(start - datetime.timedelta(minutes=5))
                    screening = "\\N"
                    if held:
                        screening = str(screenings.latest(client))
                    elif back_walking:
                        found = screenings.on(client, created.timestamp())
                        screening = "\\N" if found is None else str(found)
                    reminder = "\\N"
                    if reminded_from < start <= reminded_until:
                        reminded = max(created, start - REMINDER_LEAD)
                        reminder = text(reminded)
                    follow_up = (
                        "t" if start >= follow_up_from and rng.random() < FOLLOW_UP_SHARE else "f"
                    )
                    appointment_id += 1
                    history.active += 1
                    appointments.add(
                        f"{appointment_id}\t{client}\t{pair.plan.therapist_id}\t{treatment.pk}\t"
                        f"{pair.room}\t{start_text}\t{end_text}\t{blocked_text}\t{status}\t"
                        f"{created_text}\t{updated}\t\\N\t\t0\t{reminder}\t{screening}\t{hold}\t"
                        f"{follow_up}\t{arrived}"
                    )
                    outbox.add(
                        kind="held" if held else "confirmation",
                        created=created,
                        appointment=appointment_id,
                    )
                    if reminder != "\\N":
                        outbox.add(kind="reminder", created=reminded, appointment=appointment_id)
                    if back_walking and status == "completed" and start >= checked_from:
                        check_id += 1
                        checks.add(
                            f"{check_id}\t{appointment_id}\tdone\t\t{pair.plan.user_id}\t"
                            f"{text(start - datetime.timedelta(minutes=2))}"
                        )
                    if rng.random() < CANCELLED_SHARE:
                        # Someone else had this time first, and cancelled it.
                        appointment_id += 1
                        history.cancelled += 1
                        other = adults[rng.randrange(len(adults))]
                        booked_at = start - leads[rng.randrange(len(leads))]
                        booked_at = min(booked_at, now - datetime.timedelta(days=1))
                        cancelled_at = min(
                            booked_at + datetime.timedelta(hours=rng.randint(1, 72)),
                            start - datetime.timedelta(hours=1),
                            now - datetime.timedelta(minutes=5),
                        )
                        booked_text, cancelled_text = text(booked_at), text(cancelled_at)
                        screening_of_other = "\\N"
                        if back_walking:
                            found = screenings.on(other, booked_at.timestamp())
                            screening_of_other = "\\N" if found is None else str(found)
                        appointments.add(
                            f"{appointment_id}\t{other}\t{pair.plan.therapist_id}\t"
                            f"{treatment.pk}\t{pair.room}\t{start_text}\t{end_text}\t"
                            f"{blocked_text}\tcancelled\t{booked_text}\t{cancelled_text}\t"
                            f"{cancelled_text}\tCancelled online by the client.\t1\t\\N\t"
                            f"{screening_of_other}\t\\N\tf\t\\N"
                        )
                        outbox.add(
                            kind="confirmation", created=booked_at, appointment=appointment_id
                        )
                        outbox.add(
                            kind="cancellation",
                            created=cancelled_at,
                            revision=1,
                            appointment=appointment_id,
                        )
    appointments.close()
    checks.close()
    return history


def _next_client(queue, used: set[int], persona_id: int) -> int | None:
    for client in queue:
        if client not in used and client != persona_id:
            return client
    return None
