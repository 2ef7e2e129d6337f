"""Every page a guest, a client, a therapist and the staff open, as the URLconf lists them.

The admin's pages come from its registry: each changelist, each value of each list filter
(a few values of the long ones), each with `_facets` ("Show counts"), the date bar, a
search by name, email and phone, and the add and change pages. `uncovered()` names the
URL patterns no page here opens, so a page added to the site cannot go unmeasured.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.db.models import Count
from django.test import Client as Browser
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments import free_times
from appointments.forms import format_start
from appointments.models import Appointment, Therapist, Treatment, WaitlistOffer
from bench.plan import post_form
from clients import staff_sessions
from clients.backends import BACKEND
from clients.models import Client, User
from screening.models import HealthScreening

CLIENT_TARGET_MS = 30  # clients, guests and therapists
STAFF_TARGET_MS = 100
BOOKED = "ashiatsu-60"

# URL patterns measured by no page, and why.
NOT_MEASURED = {
    "clients:logout": "POST: ends the session",
    "clients:confirm_sign_up": "a one-time link from an email",
    "clients:password_reset_confirm": "a one-time link from an email",
    "clients:accept_invitation": "a one-time link from an email",
    "two_factor:verify": "the second step of signing in; the sessions here are verified",
    "two_factor:set_up": "signing in for the first time",
    "two_factor:new_backup_codes": "POST: replaces the backup codes",
    "two_factor:backup_codes": "shown once, right after the second factor is set up",
    "appointments:waitlist_join": "POST: joins the waitlist",
    "appointments:waitlist_leave": "POST: leaves the waitlist",
    "schedule:check": "POST: records the pre-session check",
    "schedule:complete": "POST: marks the visit done",
    "schedule:no_show": "POST: marks a no-show",
    "schedule:replace_feed": "POST: replaces the calendar feed's address",
    "front_desk:new_client": "POST: adds a client",
    "front_desk:invite": "POST: invites a client",
    "front_desk:cancel": "POST: cancels",
    "front_desk:arrived": "POST: marks an arrival",
    "front_desk:complete": "POST: marks the visit done",
    "front_desk:no_show": "POST: marks a no-show",
    "front_desk:called": "POST: records a call",
    "bench-insert": "the floor of `make bench`; this benchmark has its own (bench-scale-insert)",
}


@dataclass
class Page:
    role: str
    label: str
    path: str
    # Prepares run n (untimed) and returns the timed request; None: GET `path`.
    prepare: Callable[[Browser, int], Callable[[], object]] | None = None
    runs: int | None = None  # at most this many timed runs (one booking per free time)
    expect: str = "200"  # the status a working page answers with

    @property
    def target_ms(self) -> float:
        return STAFF_TARGET_MS if self.role == "staff" else CLIENT_TARGET_MS


@dataclass
class Cast:
    """Who the benchmark logs in as, and the records their pages show."""

    client: Client
    therapist: Therapist
    staff: User
    upcoming: Appointment  # ten days ahead: can be moved and cancelled online
    past: Appointment
    therapist_visit: Appointment  # the therapist's next appointment today (or later)
    screening: HealthScreening
    pending_screening: HealthScreening | None
    offer: WaitlistOffer | None


def cast(record: dict) -> Cast:
    now = timezone.now()
    client = Client.objects.select_related("user").get(pk=record["persona"]["client"])
    mine = Appointment.objects.filter(client=client)
    upcoming = list(mine.active().upcoming(now))
    later = [visit for visit in upcoming if visit.starts_at > now + datetime.timedelta(days=5)]
    start, end = free_times.local_days(timezone.localdate(now))
    # The therapist with the fullest day today, of those who give the booked treatment.
    therapist_id = (
        Appointment.objects.active()
        .filter(starts_at__gte=start, starts_at__lt=end, therapist__treatments__slug=BOOKED)
        .values("therapist")
        .annotate(visits=Count("pk"))
        .order_by("-visits")
        .values_list("therapist", flat=True)
        .first()
    ) or Therapist.objects.filter(treatments__slug=BOOKED).values_list("pk", flat=True).first()
    therapist = Therapist.objects.select_related("user").get(pk=therapist_id)
    visits = Appointment.objects.active().filter(therapist=therapist, starts_at__gte=start)
    return Cast(
        client=client,
        therapist=therapist,
        staff=User.objects.filter(is_superuser=True).order_by("pk").first(),
        upcoming=later[0] if later else upcoming[0],
        past=mine.past(now).filter(status=Appointment.Status.COMPLETED).first(),
        therapist_visit=visits.filter(treatment__is_back_walking=True).order_by("starts_at").first()
        or visits.order_by("starts_at").first(),
        screening=HealthScreening.objects.filter(client=client).latest_first().first(),
        pending_screening=HealthScreening.objects.awaiting_review().first(),
        offer=WaitlistOffer.objects.filter(entry__client=client).order_by("-pk").first(),
    )


def browsers(people: Cast) -> dict[str, Browser]:
    guest = Browser()
    client = Browser()
    client.force_login(people.client.user, backend=BACKEND)
    return {
        "guest": guest,
        "client": client,
        "therapist": _verified(people.therapist.user),
        "staff": _verified(people.staff),
    }


def _verified(user: User) -> Browser:
    """Logged in with the second factor given, as tests/two_factor.py's
    force_login_verified does it."""
    browser = Browser()
    browser.force_login(user, backend=BACKEND)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    )
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    now = timezone.now().timestamp()
    session[staff_sessions.STARTED] = now
    staff_sessions.seen(session, now)
    session.save()
    return browser


def _free(treatment: Treatment, first: datetime.date, days: int, **filters) -> list:
    return free_times.free_slots(
        treatment=treatment,
        first_day=first,
        last_day=first + datetime.timedelta(days=days - 1),
        **filters,
    )


def _spread(slots: list, count: int) -> list:
    """Up to `count` slots, no two within three hours of each other (one client books them
    all), on different therapists where possible."""
    chosen = []
    for slot in slots:
        if all(abs((slot.start - other.start).total_seconds()) >= 3 * 3600 for other in chosen):
            chosen.append(slot)
        if len(chosen) == count:
            break
    return chosen


def _query(path: str, **params) -> str:
    return f"{path}?{urlencode(params)}"


def site_pages(people: Cast, *, runs: int) -> list[Page]:
    """The pages outside the admin, for each role."""
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    booked = Treatment.objects.get(slug=BOOKED)
    swedish = Treatment.objects.get(slug="swedish-60")
    client_id = people.client.pk
    slots = _spread(
        _free(booked, tomorrow + datetime.timedelta(days=1), 14, client_id=client_id), runs + 3
    )
    first = slots[0]
    booking_path = f"/book/{BOOKED}/"
    pages = [
        Page("guest", "home", "/"),
        Page("guest", "favicon", "/favicon.ico", expect="301"),
        Page("guest", "treatment list", "/treatments/"),
        Page("guest", f"treatment page: 4-week calendar ({BOOKED})", f"/treatments/{BOOKED}/"),
        Page("guest", "a day's free times", f"/treatments/{BOOKED}/{tomorrow}/"),
        Page("guest", "sign up", "/sign-up/"),
        Page("guest", "sign up: email sent", "/sign-up/sent/"),
        Page("guest", "log in", "/log-in/"),
        Page("guest", "password reset", "/password-reset/"),
        Page("guest", "password reset: email sent", "/password-reset/sent/"),
        Page("client", "home", "/"),
        Page("client", "treatment list", "/treatments/"),
    ]
    for treatment in Treatment.objects.order_by("position"):
        pages.append(
            Page(
                "client",
                f"treatment page: 4-week calendar ({treatment.slug})",
                f"/treatments/{treatment.slug}/",
            )
        )
    next_weeks = today + datetime.timedelta(weeks=4)
    visit = people.upcoming
    moves = _free(
        visit.treatment,
        tomorrow + datetime.timedelta(days=1),
        14,
        client_id=client_id,
        ignore_appointment_id=visit.pk,
    )
    pages += [
        Page(
            "client",
            "treatment page: the next 4 weeks",
            _query(f"/treatments/{BOOKED}/", **{"from": next_weeks}),
        ),
        Page(
            "client",
            "treatment page: one therapist",
            _query(f"/treatments/{BOOKED}/", therapist=first.therapist_id),
        ),
        Page("client", "a day's free times (tomorrow)", f"/treatments/{BOOKED}/{tomorrow}/"),
        Page(
            "client",
            "a day's free times (swedish-60, in a week)",
            f"/treatments/swedish-60/{today + datetime.timedelta(days=7)}/",
        ),
        Page(
            "client",
            "booking form",
            _query(booking_path, start=format_start(first.start), therapist=first.therapist_id),
        ),
        Page(
            "client",
            f"booking POST ({BOOKED}, distinct free times)",
            booking_path,
            prepare=_booking(booking_path, slots),
            runs=len(slots) - 1,
            expect="302",
        ),
        Page(
            "client",
            "minimal logged-in insert POST (exclusion constraint)",
            "/bench/scale/insert/",
            prepare=lambda browser, n: lambda: browser.post("/bench/scale/insert/"),
        ),
        Page("client", "booked page", f"/appointments/{visit.pk}/booked/"),
        Page("client", "my appointments", "/appointments/"),
        Page("client", "appointment detail (upcoming)", f"/appointments/{visit.pk}/"),
        Page("client", "appointment detail (past)", f"/appointments/{people.past.pk}/"),
        Page("client", "calendar file", f"/appointments/{visit.pk}/calendar.ics"),
        Page("client", "cancel page", f"/appointments/{visit.pk}/cancel/"),
        Page("client", "reschedule page", f"/appointments/{visit.pk}/reschedule/"),
        Page(
            "client",
            "reschedule page, a day picked",
            _query(
                f"/appointments/{visit.pk}/reschedule/",
                date=timezone.localtime(visit.starts_at).date(),
            ),
        ),
    ]
    if moves:
        pages.append(
            Page(
                "client",
                "reschedule confirmation",
                _query(
                    f"/appointments/{visit.pk}/reschedule/confirm/",
                    start=format_start(moves[0].start),
                    therapist=moves[0].therapist_id,
                ),
            )
        )
    pages += [
        Page("client", "health screening", "/health-screening/"),
        Page("client", "new health screening form", "/health-screening/new/"),
        Page("client", "account", "/account/"),
        Page("client", "contact details", "/account/details/"),
        Page("client", "password change", "/account/password/"),
        Page("client", "my data (export page)", "/account/my-data/"),
        Page("client", "my data download", "/account/my-data/download/"),
        Page("client", "erasure request page", "/account/delete-my-data/"),
    ]
    if people.offer is not None:
        pages.append(
            Page(
                "client",
                "waitlist offer (still free: on to the booking form)",
                f"/waitlist/offers/{people.offer.token}/",
                expect="302",
            )
        )

    therapist_visit = people.therapist_visit
    pages += [
        Page("therapist", "day schedule (today)", "/schedule/"),
        Page("therapist", "day schedule (tomorrow)", _query("/schedule/", date=tomorrow)),
        Page("therapist", "week schedule", "/schedule/week/"),
        Page(
            "therapist",
            "week schedule (next week)",
            _query("/schedule/week/", date=today + datetime.timedelta(days=7)),
        ),
        Page("therapist", "appointment", f"/schedule/appointments/{therapist_visit.pk}/"),
        Page("therapist", "calendar subscription page", "/schedule/calendar/"),
        Page(
            "therapist",
            "calendar feed (no login)",
            f"/schedule/feed/{people.therapist.feed_token}.ics",
        ),
        Page("therapist", "account", "/account/"),
    ]

    desk_slots = _free(swedish, tomorrow, 1, by_staff=True) or _free(
        swedish, tomorrow + datetime.timedelta(days=1), 3, by_staff=True
    )
    client = people.client
    born = client.date_of_birth
    pages += [
        Page("staff", "front desk: today's work", "/front-desk/"),
        Page("staff", "front desk: day book (today)", "/front-desk/day/"),
        Page(
            "staff",
            "front desk: day book (tomorrow, swedish-60)",
            _query("/front-desk/day/", date=tomorrow, treatment="swedish-60"),
        ),
        Page("staff", "front desk: appointment", f"/front-desk/appointments/{visit.pk}/"),
        Page("staff", "front desk: move, free times", f"/front-desk/appointments/{visit.pk}/move/"),
    ]
    if moves:
        pages.append(
            Page(
                "staff",
                "front desk: move, confirmation",
                _query(
                    f"/front-desk/appointments/{visit.pk}/move/",
                    start=format_start(moves[0].start),
                    therapist=moves[0].therapist_id,
                ),
            )
        )
    if desk_slots:
        slot = {
            "treatment": "swedish-60",
            "start": format_start(desk_slots[0].start),
            "therapist": desk_slots[0].therapist_id,
        }
        pages += [
            Page("staff", "front desk: book, find the client", _query("/front-desk/book/", **slot)),
            Page(
                "staff",
                "front desk: client search by name",
                _query("/front-desk/book/", **slot, q=client.full_name),
            ),
            Page(
                "staff",
                "front desk: client search by email",
                _query("/front-desk/book/", **slot, q=client.user.email),
            ),
            Page(
                "staff",
                "front desk: client search by phone",
                _query("/front-desk/book/", **slot, q=client.phone),
            ),
            Page(
                "staff",
                "front desk: client search by date of birth",
                _query("/front-desk/book/", **slot, q=f"{born.day}/{born.month}/{born.year}"),
            ),
            Page(
                "staff",
                "front desk: client search by a common fragment (an)",
                _query("/front-desk/book/", **slot, q="an"),
            ),
            Page(
                "staff",
                "front desk: book, confirm",
                _query("/front-desk/book/", **slot, client=client.pk),
            ),
        ]
    pages.append(Page("staff", "account", "/account/"))
    return pages


FORM = "application/x-www-form-urlencoded"


def _booking(path: str, slots: list) -> Callable[[Browser, int], Callable[[], object]]:
    """Run n books the n-th free time: its form is fetched untimed, then posted."""

    def prepare(browser: Browser, number: int) -> Callable[[], object]:
        slot = slots[number]
        page = browser.get(
            _query(path, start=format_start(slot.start), therapist=slot.therapist_id)
        )
        # Posted as a browser posts a form (the test client's default is multipart).
        body = urlencode(post_form(page.content))
        return lambda: browser.post(path, body, content_type=FORM)

    return prepare


def admin_pages(people: Cast, browser: Browser, *, filter_values: int) -> list[Page]:
    """Each registered model's admin pages, enumerated from one untimed visit of its list."""
    pages = [Page("staff", "admin: index", "/admin/")]
    terms = {
        "name": people.client.full_name,
        "email": people.client.user.email,
        "phone": people.client.phone,
        # Two letters, as staff type when they search before they know the whole name:
        # thousands of clients match, and no trigram index serves fewer than three.
        "a common fragment (an)": "an",
    }
    changed = _representatives(people)
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        title = model._meta.verbose_name_plural
        changelist = reverse(f"admin:{name}_changelist")
        pages.append(Page("staff", f"admin: {title}", changelist))
        facets = model_admin.show_facets != ShowFacets.NEVER
        response = browser.get(changelist)
        context = getattr(response, "context_data", None) or {}
        cl = context.get("cl")
        if cl is not None and cl.has_filters:
            if facets:
                pages.append(
                    Page(
                        "staff", f"admin: {title}, show counts", _query(changelist, _facets="True")
                    )
                )
            for spec in cl.filter_specs:
                choices = [choice for choice in spec.choices(cl) if not choice["selected"]]
                choices = [choice for choice in choices if choice["query_string"] != "?"]
                for choice in choices[:filter_values]:
                    label = f"admin: {title}, {spec.title} = {choice['display']}"
                    pages.append(Page("staff", label, changelist + choice["query_string"]))
                    if facets:
                        pages.append(
                            Page(
                                "staff",
                                f"{label}, show counts",
                                changelist + choice["query_string"] + "&_facets=True",
                            )
                        )
        if model_admin.date_hierarchy:
            field = model_admin.date_hierarchy
            today = timezone.localdate()
            year = {f"{field}__year": today.year}
            month = {**year, f"{field}__month": today.month}
            day = {**month, f"{field}__day": today.day}
            for label, params in (("year", year), ("month", month), ("day", day)):
                pages.append(
                    Page(
                        "staff",
                        f"admin: {title}, date bar: this {label}",
                        _query(changelist, **params),
                    )
                )
        if model_admin.search_fields:
            for kind, term in terms.items():
                pages.append(
                    Page("staff", f"admin: {title}, search by {kind}", _query(changelist, q=term))
                )
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            pages.append(Page("staff", f"admin: {title}, add", reverse(f"admin:{name}_add")))
        objects = changed.get(model)
        if objects is None:
            first = model_admin.get_queryset(request).order_by("pk").first()
            objects = [("", first)] if first is not None else []
        for which, obj in objects:
            label = f"admin: {model._meta.verbose_name}{which}, change page"
            pages.append(Page("staff", label, reverse(f"admin:{name}_change", args=[obj.pk])))
            # Its history: the admin's log of changes to it, among every record's.
            pages.append(
                Page(
                    "staff",
                    f"admin: {model._meta.verbose_name}{which}, history",
                    reverse(f"admin:{name}_history", args=[obj.pk]),
                )
            )
            # Its delete confirmation (opening it deletes nothing), which lists what the
            # deletion would touch.
            if model_admin.has_delete_permission(request, obj):
                pages.append(
                    Page(
                        "staff",
                        f"admin: {model._meta.verbose_name}{which}, delete page",
                        reverse(f"admin:{name}_delete", args=[obj.pk]),
                    )
                )
            # The model admin's own pages about one record (a client's data export...).
            for extra in _own_admin_urls(model_admin, name):
                label = f"admin: {model._meta.verbose_name}{which}, {extra.replace('_', ' ')}"
                pages.append(Page("staff", label, reverse(f"admin:{name}_{extra}", args=[obj.pk])))
        for field_name in model_admin.autocomplete_fields:
            pages.append(
                Page(
                    "staff",
                    f"admin: {title}, {field_name} autocomplete",
                    _query(
                        reverse("admin:autocomplete"),
                        app_label=model._meta.app_label,
                        model_name=model._meta.model_name,
                        field_name=field_name,
                        term=people.client.full_name.split()[0],
                    ),
                )
            )
    return pages


# The URL names Django's ModelAdmin gives every model (admin:<app>_<model>_<suffix>).
_DJANGO_ADMIN_URLS = {"changelist", "add", "history", "delete", "change"}


def _own_admin_urls(model_admin, name: str) -> list[str]:
    """The suffixes of the URLs a model admin adds for one record (its get_urls beyond
    Django's), e.g. "export" of admin:clients_client_export."""
    suffixes = (
        pattern.name.removeprefix(f"{name}_")
        for pattern in model_admin.get_urls()
        if isinstance(pattern, URLPattern)
        and (pattern.name or "").startswith(f"{name}_")
        and len(pattern.pattern.converters) == 1
    )
    return [suffix for suffix in suffixes if suffix not in _DJANGO_ADMIN_URLS]


def _representatives(people: Cast) -> dict:
    """The records whose change pages are measured, where the first row would say little."""
    from screening.models import ScreeningToReview

    chosen = {
        Appointment: [(" (upcoming)", people.upcoming), (" (past)", people.past)],
        Client: [("", people.client)],
        User: [(" (client)", people.client.user), (" (therapist)", people.therapist.user)],
        HealthScreening: [("", people.screening)],
        Therapist: [("", people.therapist)],
        Treatment: [("", Treatment.objects.get(slug=BOOKED))],
    }
    if people.pending_screening is not None:
        chosen[ScreeningToReview] = [("", people.pending_screening)]
    return chosen


def _patterns(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace or ""
            if namespace == "admin":
                continue  # the admin's pages come from its registry
            inner = f"{prefix}{namespace}:" if namespace else prefix
            yield from _patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}"


def uncovered(pages: list[Page]) -> tuple[list[str], dict[str, str]]:
    """URL names no page opens and none is known to be left out on purpose; and the
    ones left out, with why."""
    measured = set()
    for page in pages:
        try:
            measured.add(resolve(page.path.split("?")[0]).view_name)
        except Exception:  # a path outside the URLconf: nothing to mark
            continue
    names = set(_patterns(get_resolver()))
    missing = sorted(names - measured - set(NOT_MEASURED))
    skipped = {name: why for name, why in NOT_MEASURED.items() if name in names - measured}
    return missing, skipped
