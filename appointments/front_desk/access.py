"""Who may open the front desk: staff with its permission (the "Front desk" group gives it;
superusers have every permission), signed in. Staff sessions give their second factor
before any page opens (clients.staff_sessions.StaffSessionMiddleware); the front desk
shows no health data, so it needs no check of its own on top."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

PERMISSION = "appointments.use_front_desk"
GROUP = "Front desk"


def is_front_desk(user) -> bool:
    # Staff only: staff sign in with a second factor, so a permission given to a
    # client account by mistake opens nothing.
    return user.is_authenticated and user.is_staff and user.has_perm(PERMISSION)


def front_desk_only(view):
    """login_required, then the permission."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_front_desk(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(checked)
