"""Login throttling with django-axes: whose attempts count, which limits lock, and the
page a locked-out visitor sees.

Two limits, counted in PostgreSQL (axes' AccessAttempt rows) so every app server
sees the same counts (settings: AXES_LOCKOUT_PARAMETERS in this order):
- one account from one address: AXES_FAILURE_LIMIT wrong passwords lock that
  account from that address only, so a stranger cannot lock a client out from
  everywhere;
- one address across accounts: SPA_LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords
  lock the address (password spraying tries one or two passwords on many
  accounts, so it never reaches the first limit).
A lock-out ends AXES_COOLOFF_TIME after the failure that set it: attempts refused
during the lock-out are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT),
so nobody can keep an account locked by trying now and then.
"""

import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timeuntil

from .models import User

# AccessAttempt.username is a varchar(255).
_USERNAME_MAX_LENGTH = AccessAttempt._meta.get_field("username").max_length
_ADDRESS_ONLY = ["ip_address"]


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """The attempted email, normalised, so "Ana@X.com" and "ana@x.com" share a count.

    Cut to the column's length: a login form that lets a longer name through (the
    admin's does) must get "wrong password", not a database error. No account has
    an address that long (User.email is at most 254 characters).
    """
    if credentials and credentials.get("username"):
        username = credentials["username"]
    else:
        username = request.POST.get("username", "")
    return User.objects.normalize_email(username)[:_USERNAME_MAX_LENGTH]


class LoginThrottle(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for each lockout parameter set."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # Axes compares this number with the one AXES_FAILURE_LIMIT; an address's
        # failures count on that scale, so it locks at its own limit.
        limit = get_failure_limit(request, credentials)
        failures = 0
        for parameters, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS,
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameters == _ADDRESS_ONLY:
                count = count * limit // settings.SPA_LOGIN_ADDRESS_FAILURE_LIMIT
            failures = max(failures, count)
        return failures

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # A successful login forgives that account's failures from that address,
        # not the address's failures on other accounts: else a sprayer with an
        # account of their own would log in now and then to clear the count.
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page a locked-out visitor sees (AXES_LOCKOUT_CALLABLE), with the wait in words."""
    now = timezone.now()
    cool_off = get_cool_off(request) or datetime.timedelta(0)
    return render(
        request,
        "clients/locked_out.html",
        {"wait": timeuntil(now + cool_off, now)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def forgive_failed_logins(user: User) -> None:
    """Clear every failed login of `user`'s account, from every address: they have just
    proved they own it (a password reset)."""
    reset(username=user.email)
