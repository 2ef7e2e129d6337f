"""The access audit from the HTTP side: every page that shows a client's health data
records who looked, at whose, and from where (clients.models.AccessRecord).

Pages that record: a screening's admin page and the screening lists (screening/admin.py),
a therapist's schedule and appointment pages where the health summary shows
(appointments/schedule_views.py), and every export of a client's data (clients/views.py,
clients/admin.py).
"""

from collections.abc import Iterable

from django.http import HttpRequest

from spa_booking.client_address import client_address

from . import services

# Who may see health answers in the admin, and so also who looked at them: the
# "Screening reviewers" group's one permission (superusers have every permission).
HEALTH_DATA_PERMISSION = "screening.review_healthscreening"


def record_access(request: HttpRequest, *, kind: str, client_ids: Iterable[int]) -> None:
    """The logged-in user saw the health data of these clients on this request, from
    the visitor's address as login throttling sees it (behind the spa's proxies too)."""
    services.record_access(
        by=request.user, client_ids=client_ids, kind=kind, address=client_address(request)
    )
