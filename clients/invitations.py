"""Inviting a client the front desk added: the email with the link to set a password, and
the page the link opens.

The front desk adds a caller with no password (clients.services.add_client_by_staff) and
owes them an invitation (a Notice); the send_notices worker emails it. The link is made
when the email leaves, and works for INVITATION_DAYS (a caller may not read their email
within a password reset's three hours) and once: setting a password changes what the
token is made of. A client who has a password by then is asked to log in instead.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from appointments.models import Notice

from .services import has_email

INVITATION_DAYS = 7


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """A password-setting link that works for INVITATION_DAYS instead of three hours."""

    key_salt = "clients.invitations.InvitationTokenGenerator"

    def check_token(self, user, token: str | None) -> bool:
        # PasswordResetTokenGenerator.check_token with its own time limit.
        if not (user and token):
            return False
        try:
            timestamp_b36, _ = token.split("-")
            timestamp = base36_to_int(timestamp_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        age = self._num_seconds(self._now()) - timestamp
        return age <= datetime.timedelta(days=INVITATION_DAYS).total_seconds()


invitation_token_generator = InvitationTokenGenerator()


def send_invitation(notice: Notice) -> None:
    # Imported here: appointments.notifications imports this module for its senders.
    from appointments.notifications import notice_message_id

    user = notice.user
    if not user.is_active or not has_email(user):
        return  # closed, or the address was taken away since
    site = settings.SPA_SITE_URL
    if user.has_usable_password():
        link = ""  # they chose one since: log in as usual
    else:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = invitation_token_generator.make_token(user)
        link = site + reverse("clients:accept_invitation", kwargs={"uidb64": uid, "token": token})
    context = {
        "client": getattr(user, "client", None),
        "email": user.email,
        "link": link,
        "days": INVITATION_DAYS,
        "log_in": site + reverse("clients:login"),
        "screening": site + reverse("screening:new"),
        "spa_name": settings.SPA_NAME,
        "spa_phone": settings.SPA_PHONE,
    }
    EmailMultiAlternatives(
        subject=f"Your {settings.SPA_NAME} account",
        body=render_to_string("clients/email/invitation.txt", context),
        to=[user.email],
        headers={"Message-ID": notice_message_id(notice)},
    ).send()


class AcceptInvitationView(auth_views.PasswordResetConfirmView):
    """The invitation's link: the client chooses their password, then logs in."""

    token_generator = invitation_token_generator
    template_name = "clients/accept_invitation.html"
    success_url = reverse_lazy("clients:login")
    post_reset_login = False
    extra_context = {"days": INVITATION_DAYS}

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Log in with your email address.")
        return response
