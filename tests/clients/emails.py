"""Account emails in tests: the links in them, and the journeys that follow a link."""

import re

from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from tests.notices import deliver_owed_notices

LINK = re.compile(r"https?://[^/\s]+(/\S+/)")


def link_in(message: mail.EmailMessage) -> str:
    """The path of the one link in an account email."""
    [path] = LINK.findall(message.body)
    return path


def emails_to(address: str) -> list[mail.EmailMessage]:
    """What the outbox has emailed to `address` so far (delivering what is owed first)."""
    deliver_owed_notices()
    return [message for message in mail.outbox if message.to == [address]]


def reset_password(http: HttpClient, email: str, new_password: str) -> None:
    """Ask for a reset link, follow it and choose `new_password`, as the owner would."""
    http.post(reverse("clients:password_reset"), {"email": email})
    [*_, message] = emails_to(email)
    set_password_url = http.get(link_in(message), follow=True).redirect_chain[-1][0]
    done = http.post(
        set_password_url, {"new_password1": new_password, "new_password2": new_password}
    )
    assert done.status_code == 302, done.content.decode()


def sign_up_link(email: str) -> str:
    """The link in the latest sign-up email to `email`, to finish creating the account."""
    [*_, message] = emails_to(email)
    return link_in(message)
