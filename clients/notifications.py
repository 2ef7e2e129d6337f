"""Emails about an account: a password reset link, the link that finishes signing up, and
"someone tried to sign up with your address".

The account services only owe them (a Notice); the send_notices worker emails them
afterwards. So a request for an address with an account takes as long as one for an
address without (no mail server in the request), and the answer is the same page.
The links are made when the email leaves, so a retried email carries a fresh one.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models import Notice

from .models import User
from .tokens import sign_up_token_generator


def send_password_reset(notice: Notice) -> None:
    user = notice.user
    # The account may have been closed since it was asked for; PasswordResetForm's rule.
    if not (user.is_active and user.has_usable_password()):
        return
    link = _link("clients:password_reset_confirm", user, default_token_generator.make_token(user))
    _email(notice, "password_reset", f"Reset your {settings.SPA_NAME} password", link=link)


def send_sign_up_link(notice: Notice) -> None:
    user = notice.user
    if user.is_active:  # finished already, with an earlier link
        return
    link = _link("clients:confirm_sign_up", user, sign_up_token_generator.make_token(user))
    _email(notice, "sign_up", f"Finish creating your {settings.SPA_NAME} account", link=link)


def send_account_exists(notice: Notice) -> None:
    user = notice.user
    if not user.is_active:
        return
    _email(
        notice,
        "account_exists",
        f"You already have a {settings.SPA_NAME} account",
        log_in=settings.SPA_SITE_URL + reverse("clients:login"),
        reset=settings.SPA_SITE_URL + reverse("clients:password_reset"),
    )


def _link(view: str, user: User, token: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SPA_SITE_URL + reverse(view, kwargs={"uidb64": uid, "token": token})


def _email(notice: Notice, template: str, subject: str, **context) -> None:
    # Imported here: appointments.notifications imports this module for its senders.
    from appointments.notifications import notice_message_id

    context |= {
        "email": notice.user.email,
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
    }
    EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"clients/email/{template}.txt", context),
        to=[notice.user.email],
        headers={"Message-ID": notice_message_id(notice)},
    ).send()
