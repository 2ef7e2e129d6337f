from django.conf import settings
from django.http import HttpRequest


def spa(request: HttpRequest) -> dict:
    """The spa's name and contact details, and the role the navigation is drawn for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        role = "guest"
    elif user.is_staff:
        role = "staff"
    elif hasattr(user, "therapist"):
        role = "therapist"
    else:
        role = "client"
    return {
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
        "spa_email": settings.SPA_EMAIL,
        "nav_role": role,
        "minimum_notice_hours": f"{settings.SPA_MINIMUM_NOTICE_HOURS:g}",
        "cancellation_window_hours": f"{settings.SPA_CANCELLATION_WINDOW_HOURS:g}",
    }
