"""How django-axes names the account behind a login attempt."""

from django.http import HttpRequest

from .models import User


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """The attempted email, normalised, so "Ana@X.com" and "ana@x.com" share a count."""
    if credentials and credentials.get("username"):
        username = credentials["username"]
    else:
        username = request.POST.get("username", "")
    return User.objects.normalize_email(username)
