from django.conf import settings
from django.http import HttpRequest


def spa_details() -> dict[str, str]:
    """The spa's name and contact details, on every page and at the end of every email."""
    return {
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
        "spa_email": settings.SPA_EMAIL,
        "spa_address": settings.SPA_ADDRESS,
        "spa_map_url": settings.SPA_MAP_URL,
    }


def spa(request: HttpRequest) -> dict:
    """The spa's name and contact details, and the role the navigation is drawn for."""
    user = getattr(request, "user", None)
    is_therapist = bool(user and user.is_authenticated and hasattr(user, "therapist"))
    if user is None or not user.is_authenticated:
        role = "guest"
    elif user.is_staff:
        role = "staff"
    elif is_therapist:
        role = "therapist"
    else:
        role = "client"
    return {
        **spa_details(),
        "nav_role": role,
        "nav_is_therapist": is_therapist,
        "minimum_notice_hours": f"{settings.SPA_MINIMUM_NOTICE_HOURS:g}",
        "cancellation_window_hours": f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}",
    }
