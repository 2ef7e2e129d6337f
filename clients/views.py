from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode, urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from spa_booking.client_address import client_address

from . import audit, backends, export, services
from .forms import ContactDetailsForm, LoginForm, SignUpForm
from .models import AccessRecord, Client, User
from .throttling import forgive_failed_logins
from .tokens import sign_up_token_generator
from .two_factor import needs_second_factor

# "Your data" shows the newest of each list (appointments, emails, who looked...); the
# JSON file holds them all.
MY_DATA_NEWEST = 20


@sensitive_post_parameters(
    "password1", "password2", "date_of_birth_0", "date_of_birth_1", "date_of_birth_2"
)
def sign_up(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "clients:account")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.register_client(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                phone=data["phone"],
                date_of_birth=data["date_of_birth"],
                requested_from=client_address(request),
            )
        except services.AccountError as error:
            form.add_error(None, error.message)
        else:
            if next_url:
                # Where the person was going (a time they picked): the email's link
                # finishes the sign-up in this browser and takes them back there.
                request.session[SIGN_UP_NEXT] = next_url
            # The same answer whether or not the address has an account already.
            return redirect("clients:sign_up_sent")
    return render(request, "clients/sign_up.html", {"form": form, "next": next_url})


SIGN_UP_NEXT = "sign_up_next"


def _safe_next(request: HttpRequest) -> str | None:
    """The `next` page asked for, if it is one of ours."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def sign_up_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "clients/sign_up_sent.html")


@never_cache
def confirm_sign_up(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link in the sign-up email: a button to finish (mail scanners open links; only a
    person presses the button), which activates the account and logs the person in."""
    user = _user_from_link(uidb64)
    if user is None or not sign_up_token_generator.check_token(user, token):
        return render(request, "clients/confirm_sign_up.html", {"valid_link": False})
    if request.method == "POST":
        services.finish_sign_up(user=user)
        next_url = request.session.pop(SIGN_UP_NEXT, None)
        login(request, user, backend=backends.BACKEND)
        messages.success(request, f"Welcome, {user.get_short_name()}. Your account is ready.")
        return redirect(next_url or "clients:account")
    return render(request, "clients/confirm_sign_up.html", {"valid_link": True})


def _user_from_link(uidb64: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return User.objects.filter(pk=pk).first()


@login_required
def account(request: HttpRequest) -> HttpResponse:
    client = Client.objects.of(request.user)
    return render(
        request,
        "clients/account.html",
        {
            "client": client,
            "erasure_request": client.erasure_requests.first() if client else None,
        },
    )


def _client_or_redirect(request: HttpRequest) -> Client | HttpResponse:
    client = Client.objects.of(request.user)
    if client is None:
        messages.info(request, "Staff and therapist accounts have no client data here.")
        return redirect("clients:account")
    return client


@never_cache
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything the spa holds on the client, to read (the newest MY_DATA_NEWEST of each
    list), and a link to the JSON file that holds it all."""
    client = _client_or_redirect(request)
    if isinstance(client, HttpResponse):
        return client
    data = export.client_data(client, newest=MY_DATA_NEWEST)
    audit.record_access(request, kind=AccessRecord.Kind.EXPORT, client_ids=[client.pk])
    return render(request, "clients/my_data.html", {"data": data})


@login_required
def my_data_download(request: HttpRequest) -> HttpResponse:
    """The same, as a JSON file to keep or take elsewhere (export.download: never cached)."""
    client = _client_or_redirect(request)
    if isinstance(client, HttpResponse):
        return client
    data = export.client_data(client)
    audit.record_access(request, kind=AccessRecord.Kind.EXPORT, client_ids=[client.pk])
    return export.download(data)


@login_required
def request_erasure(request: HttpRequest) -> HttpResponse:
    """What erasure means, and the button that asks the spa for it."""
    client = _client_or_redirect(request)
    if isinstance(client, HttpResponse):
        return client
    if request.method == "POST":
        try:
            services.request_erasure(client=client)
        except services.AccountError as error:
            messages.info(request, error.message)
        else:
            messages.success(
                request,
                "We have your request to delete your data. Our staff deal with it within a "
                "month; this page tells you where it stands.",
            )
        return redirect("clients:account")
    return render(
        request,
        "clients/request_erasure.html",
        {"client": client, "erasure_request": client.erasure_requests.first()},
    )


@login_required
def edit_contact_details(request: HttpRequest) -> HttpResponse:
    client = Client.objects.of(request.user)
    if client is None:
        messages.info(request, "Staff and therapist accounts have no client profile to edit.")
        return redirect("clients:account")
    form = ContactDetailsForm(request.POST if request.method == "POST" else None, instance=client)
    if request.method == "POST" and form.is_valid():
        services.update_contact_details(
            client=client,
            full_name=form.cleaned_data["full_name"],
            phone=form.cleaned_data["phone"],
        )
        messages.success(request, "Your details are saved.")
        return redirect("clients:account")
    return render(request, "clients/edit_contact_details.html", {"form": form, "client": client})


def landing_page(user) -> str:
    """Where a login ends without a page asked for: therapists on their schedule,
    everyone else on "My account"."""
    if hasattr(user, "therapist"):
        return reverse("schedule:day")
    return reverse("clients:account")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "clients/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return landing_page(self.request.user)

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if needs_second_factor(self.request.user):
            # The password was only the first step for staff and therapists.
            return f"{reverse('two_factor:verify')}?{urlencode({'next': url})}"
        return url


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "clients/password_change.html"
    success_url = reverse_lazy("clients:account")

    def form_valid(self, form):
        messages.success(self.request, "Your password is changed.")
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "clients/password_reset.html"
    success_url = reverse_lazy("clients:password_reset_sent")

    def form_valid(self, form):
        # The link leaves from the outbox: the answer comes as fast, and says the
        # same, whether or not the address has an account.
        services.request_password_reset(
            email=form.cleaned_data["email"], requested_from=client_address(self.request)
        )
        return redirect(self.success_url)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "clients/password_reset_confirm.html"
    success_url = reverse_lazy("clients:login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever chose the new password owns the account: let them log in at once,
        # even where wrong guesses (theirs or a stranger's) had locked it.
        forgive_failed_logins(form.user)
        messages.success(self.request, "Your password is reset. Log in with your new password.")
        return response
