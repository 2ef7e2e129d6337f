"""A staff or therapist session: short-lived, and useless until the second factor is given."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from .two_factor import needs_second_factor

STARTED = "staff_session_started"
LAST_SEEN = "staff_session_last_seen"
# The idle clock is written back at most this often, not on every request.
LAST_SEEN_PRECISION = 60
EXPIRY_MARGIN = 10 * 60

# The pages an unverified staff session may open: the ones that ask for the second
# factor or set it up, and logging out. Not two_factor:new_backup_codes.
OPEN_BEFORE_SECOND_FACTOR = {
    "two_factor:verify",
    "two_factor:set_up",
    "two_factor:backup_codes",
    "clients:logout",
}


class StaffSessionMiddleware:
    """For staff and therapists only (clients keep their long sessions):

    - signed out after SPA_STAFF_IDLE_MINUTES without a request, and after
      SPA_STAFF_SESSION_HOURS in all, however busy;
    - until the session is verified with a second factor (clients.two_factor), every
      page sends them to give it. One gate for every page, the admin's and the
      therapist's, and any added later; the admin site checks it again itself.

    In process_view, after django-otp's OTPMiddleware has found the session's device.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not needs_second_factor(request.user):
            return None
        if self._has_expired(request):
            logout(request)
            messages.info(
                request,
                "You were logged out: staff sessions end after "
                f"{settings.SPA_STAFF_IDLE_MINUTES} minutes without activity and after "
                f"{settings.SPA_STAFF_SESSION_HOURS:g} hours in all. Log in again.",
            )
            return _back_here_after(request, reverse(settings.LOGIN_URL))
        if (
            request.user.is_verified()
            or request.resolver_match.view_name in OPEN_BEFORE_SECOND_FACTOR
        ):
            return None
        return _back_here_after(request, reverse("two_factor:verify"))

    def _has_expired(self, request: HttpRequest) -> bool:
        session = request.session
        now = timezone.now().timestamp()
        started = session.setdefault(STARTED, now)
        last_seen = session.get(LAST_SEEN, now)
        if (
            now - last_seen > settings.SPA_STAFF_IDLE_MINUTES * 60
            or now - started > settings.SPA_STAFF_SESSION_HOURS * 3600
        ):
            return True
        if LAST_SEEN not in session or now - last_seen >= LAST_SEEN_PRECISION:
            seen(session, now)
        return False


def seen(session, now: float) -> None:
    """The staff member was active at `now` (a timestamp)."""
    session[LAST_SEEN] = now
    # The session row and cookie go a little after the idle limit, not before it, so
    # that the check above sees the session first and can say why it ended.
    session.set_expiry(settings.SPA_STAFF_IDLE_MINUTES * 60 + EXPIRY_MARGIN)


def _back_here_after(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect to `url` that comes back to the page asked for (a GET only: a form
    posted before is not posted again)."""
    if request.method == "GET":
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    return redirect(url)


def second_factor_required(view):
    """login_required, and for staff and therapists a verified second factor.

    For the pages that show health data (the therapist's schedule): they check again
    what StaffSessionMiddleware already holds for every page, as the admin site does.
    """

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if needs_second_factor(request.user) and not request.user.is_verified():
            return _back_here_after(request, reverse("two_factor:verify"))
        return view(request, *args, **kwargs)

    return login_required(checked)
