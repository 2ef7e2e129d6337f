"""The second-factor pages: set up the authenticator app, see the backup codes, give a code.

After the password (clients.views.LoginView, or the admin's login page), staff and
therapists come here; clients.staff_sessions keeps them here until the session is verified.
"""

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from . import two_factor
from .views import landing_page

# Backup codes wait here between the POST that makes them and the page that shows them.
SHOW_BACKUP_CODES = "two_factor_backup_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, label: str, help_text: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = label
        self.fields["code"].help_text = help_text


def _next(request: HttpRequest) -> str:
    """Where to go once the second factor is given: the page asked for, if it is ours."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return landing_page(request.user)


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


def _verified(request: HttpRequest, device) -> None:
    otp_login(request, device)
    # A new session key for the verified session, as logging in gives one.
    request.session.cycle_key()


@never_cache
@sensitive_post_parameters("code")
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not two_factor.needs_second_factor(user) or user.is_verified():
        return redirect(_next(request))
    if not two_factor.is_enrolled(user):
        return redirect(_with_next(reverse("two_factor:set_up"), _next(request)))
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        label="Code",
        help_text="The 6 digits your authenticator app shows now, or a backup code.",
    )
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.verify(user=user, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            _verified(request, device)
            if isinstance(device, StaticDevice):
                left = two_factor.backup_codes_left(user)
                messages.warning(
                    request,
                    f"You used a backup code; it will not work again. {left} left."
                    + (" Get new ones on the My account page." if left < 4 else ""),
                )
            return redirect(_next(request))
    return render(request, "clients/two_factor/verify.html", {"form": form, "next": _next(request)})


@never_cache
@sensitive_post_parameters("code")
@login_required
def set_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not two_factor.needs_second_factor(user):
        return redirect(_next(request))
    if two_factor.is_enrolled(user):
        return redirect(_with_next(reverse("two_factor:verify"), _next(request)))
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        label="Code from the app",
        help_text="The 6 digits the app shows for the spa once you have added it.",
    )
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor.confirm_enrolment(user=user, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", error.message)
        else:
            _verified(request, device)
            request.session[SHOW_BACKUP_CODES] = codes
            return redirect(_with_next(reverse("two_factor:backup_codes"), _next(request)))
    device = two_factor.start_enrolment(user=user)
    return render(
        request,
        "clients/two_factor/set_up.html",
        {
            "form": form,
            "next": _next(request),
            # An SVG in a data: address: no script, and allowed by the CSP's img-src.
            "qr_code": segno.make(device.config_url, error="m").svg_data_uri(
                scale=5, border=2, dark="#000", light="#fff"
            ),
            "secret_key": two_factor.secret_key(device),
        },
    )


@never_cache
@login_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """The backup codes, once: reloading the page does not show them again."""
    codes = request.session.pop(SHOW_BACKUP_CODES, None)
    if not codes:
        return redirect(_next(request))
    return render(
        request, "clients/two_factor/backup_codes.html", {"codes": codes, "next": _next(request)}
    )


@require_POST
@login_required
def new_backup_codes(request: HttpRequest) -> HttpResponse:
    # The middleware already requires a verified session here; new codes from an
    # unverified one would be a way round the second factor, so ask again.
    if not request.user.is_verified():
        raise PermissionDenied
    try:
        codes = two_factor.replace_backup_codes(user=request.user)
    except two_factor.TwoFactorError as error:
        messages.error(request, error.message)
        return redirect("clients:account")
    request.session[SHOW_BACKUP_CODES] = codes
    return redirect(_with_next(reverse("two_factor:backup_codes"), reverse("clients:account")))
