"""When PostgreSQL cannot be reached: 503 with Retry-After, not a 500 and an error email
per request.

Django hands every uncaught exception, from a view or a middleware, to the 500 handler
(urls.handler500). A lost or refused database connection is not a bug to report for
each request: the page says "try again in a moment" and needs no database itself, and
the outage is logged once a minute per process. Any other error is Django's 500.
"""

import logging
import sys
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
LOG_INTERVAL_SECONDS = 60

# SQLSTATE classes of a database that is not there (rather than a query that failed):
# 08 connection exception, 57P01-57P03 shutting down or starting up.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")

_last_logged = -LOG_INTERVAL_SECONDS
_log_lock = threading.Lock()


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if not is_database_unavailable(error):
        return defaults.server_error(request)
    _log_now_and_then(error)
    response = HttpResponse(
        render_to_string(
            "503.html", {"spa_name": settings.SPA_NAME, "spa_phone": settings.SPA_PHONE}
        ),
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Logged above, at most once a minute: Django's request log would email each one.
    response._has_been_logged = True
    return response


def is_database_unavailable(error: BaseException | None) -> bool:
    if isinstance(error, InterfaceError):  # "connection already closed"
        return True
    if not isinstance(error, OperationalError):
        return False
    # A refused or dropped connection has no SQLSTATE; a lock timeout, a deadlock or
    # a cancelled query has one of its own and stays a 500.
    state = getattr(error.__cause__, "pgcode", None)
    return state is None or state.startswith(_UNAVAILABLE_STATES)


def _log_now_and_then(error: BaseException) -> None:
    global _last_logged
    with _log_lock:
        now = time.monotonic()
        if now - _last_logged < LOG_INTERVAL_SECONDS:
            return
        _last_logged = now
    logger.error(
        "The database is unavailable; answering 503 (logged at most every %s s): %s: %s",
        LOG_INTERVAL_SECONDS,
        type(error).__name__,
        error,
    )
