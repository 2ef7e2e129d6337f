from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.front_desk.clients import parse_date
from appointments.models import Appointment
from spa_booking.admin_deletion import KeptRecordsMixin
from spa_booking.admin_lists import ActionCheckboxMixin, LongListMixin

from . import audit, export, services, two_factor
from .models import (
    AccessRecord,
    Client,
    DateOfBirthCorrection,
    SecondFactorReset,
    User,
)

# The latest access records shown on a client's page; the full list is one click away.
ACCESS_SHOWN = 20


def _sees_health_data(request: HttpRequest) -> bool:
    return request.user.has_perm(audit.HEALTH_DATA_PERMISSION)


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%d %b %Y %H:%M}"


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


# What a person may do: only a superuser grants or takes these away. Whoever else may
# edit accounts could otherwise make themselves, or a friend, anything.
PRIVILEGES = ["is_staff", "is_superuser", "groups", "user_permissions"]
ONLY_SUPERUSERS_GRANT = (
    "Only a superuser can change who is staff or a superuser, their groups or permissions."
)


def _privileges(user_id: int | None) -> tuple:
    """What the account may do, as stored (nothing for an account not yet saved)."""
    stored = User.objects.filter(pk=user_id).first() if user_id else None
    if stored is None:
        return (False, False, frozenset(), frozenset())
    return (
        stored.is_staff,
        stored.is_superuser,
        frozenset(stored.groups.values_list("pk", flat=True)),
        frozenset(stored.user_permissions.values_list("pk", flat=True)),
    )


class GroupFilter(admin.SimpleListFilter):
    """By group, or in none. Django's filter joins the groups and then needs DISTINCT,
    which sorts every account before the first page (100,000 of them at a chain's size,
    most of them clients in no group); EXISTS reads the accounts in the order shown."""

    title = "group"
    parameter_name = "group"
    NONE = "none"

    def lookups(self, request, model_admin):
        groups = [(str(group.pk), group.name) for group in Group.objects.order_by("name")]
        return [*groups, (self.NONE, "In no group")]

    def queryset(self, request, queryset):
        value = self.value()
        membership = User.groups.through.objects.filter(user_id=OuterRef("pk"))
        if value == self.NONE:
            return queryset.filter(~Exists(membership))
        if value and value.isdigit():
            return queryset.filter(Exists(membership.filter(group_id=int(value))))
        return queryset


@admin.register(User)
class UserAdmin(KeptRecordsMixin, LongListMixin, DjangoUserAdmin):
    """Every account: each client's login, and the staff's. Ordered by email alone (its
    unique index); another column's order would sort a hundred thousand accounts."""

    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    sortable_by = ["email"]
    list_display = ["email", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", GroupFilter]
    search_fields = ["email", "client__full_name"]
    readonly_fields = ["last_login", "date_joined", "second_factor"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Access",
            {
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                    "second_factor",
                ]
            },
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]
    actions = ["reset_second_factor"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [*fields, *PRIVILEGES]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # A superuser's account (its password, its email) is a superuser's business.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        if not request.user.is_superuser:
            request._privileges_before = _privileges(obj.pk)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The fields are read-only for them, so the form ignores them; a forged POST, or
        # a form that someday shows them, is refused here too (and the whole save with it:
        # the admin saves in one transaction).
        if not request.user.is_superuser and (
            _privileges(form.instance.pk) != request._privileges_before
        ):
            raise PermissionDenied(ONLY_SUPERUSERS_GRANT)

    @admin.display(description="Second factor")
    def second_factor(self, obj: User) -> str:
        app = TOTPDevice.objects.filter(user=obj, confirmed=True).first()
        if app is None:
            return "Not set up" + (
                " (sets up an authenticator app at the next sign-in)"
                if two_factor.needs_second_factor(obj)
                else ""
            )
        left = two_factor.backup_codes_left(obj)
        since = timezone.localtime(app.created_at)
        return f"Authenticator app since {since:%-d %B %Y}; {left} backup codes left"

    def has_reset_second_factor_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(
        description="Reset the second factor (a lost phone)",
        permissions=["reset_second_factor"],
    )
    def reset_second_factor(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            try:
                two_factor.reset_second_factor(user=user, reset_by=request.user)
            except two_factor.TwoFactorError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    f"The second factor of {user} is reset (and recorded). They set up a "
                    "new authenticator app when they next log in.",
                )


@admin.register(SecondFactorReset)
class SecondFactorResetAdmin(ActionCheckboxMixin, admin.ModelAdmin):
    """The record of resets, for superusers: read-only, and PostgreSQL keeps it so."""

    list_display = ["reset_at", "user", "reset_by"]
    list_select_related = ["user", "reset_by"]
    search_fields = ["user__email", "reset_by__email"]
    date_hierarchy = "reset_at"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# The devices are managed through sign-in and the reset above only: django-otp's own
# admin pages would show the secrets, and let a device be removed with no record.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ActionCheckboxMixin, DjangoGroupAdmin):
    """Groups carry permissions, so changing one is granting them: superusers only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser


class ClientAdminForm(forms.ModelForm):
    date_of_birth_correction_reason = forms.CharField(
        label="Reason for correcting the date of birth",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you change the date of birth (for example: "
        "\u201cclient showed a passport at reception\u201d). The change is recorded.",
    )

    class Meta:
        model = Client
        fields = ["full_name", "phone", "date_of_birth"]

    def clean_date_of_birth(self):
        date_of_birth = self.cleaned_data["date_of_birth"]
        if date_of_birth and date_of_birth > timezone.localdate():
            raise forms.ValidationError("The date of birth must be in the past.")
        return date_of_birth

    def clean(self) -> dict:
        cleaned = super().clean()
        if (
            self.instance.pk
            and "date_of_birth" in self.changed_data
            and not cleaned.get("date_of_birth_correction_reason", "").strip()
        ):
            self.add_error(
                "date_of_birth_correction_reason",
                "Say why the date of birth is being corrected.",
            )
        return cleaned


class DateOfBirthCorrectionInline(admin.TabularInline):
    model = DateOfBirthCorrection
    fields = ["corrected_at", "old_date_of_birth", "new_date_of_birth", "reason", "corrected_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Client)
class ClientAdmin(KeptRecordsMixin, LongListMixin, admin.ModelAdmin):
    form = ClientAdminForm
    # Enough to tell two clients of the same name apart; searchable by date of birth too.
    list_display = ["full_name", "email", "phone", "date_of_birth", "last_visit", "created_at"]
    # The orders an index serves; the last visit, say, would be looked up for every client.
    sortable_by = ["full_name", "email"]
    search_fields = ["full_name", "user__email", "phone"]
    search_help_text = "Name, email, phone or date of birth (27/3/1990)."
    list_select_related = ["user"]
    readonly_fields = ["user", "created_at"]
    fields = [
        "user",
        "full_name",
        "phone",
        "date_of_birth",
        "date_of_birth_correction_reason",
        "created_at",
    ]
    inlines = [DateOfBirthCorrectionInline]

    def get_queryset(self, request: HttpRequest):
        completed = Appointment.objects.filter(
            client=OuterRef("pk"), status=Appointment.Status.COMPLETED
        ).order_by("-starts_at")
        return (
            super()
            .get_queryset(request)
            .annotate(latest_visit=Subquery(completed.values("starts_at")[:1]))
        )

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        born = parse_date(search_term)
        if born is not None:
            results |= queryset.filter(date_of_birth=born)
        return results, may_have_duplicates

    @admin.display(description="email", ordering="user__email")
    def email(self, client: Client) -> str:
        # A client the front desk added without an email has a placeholder login.
        return client.user.email if services.has_email(client.user) else "\u2013"

    @admin.display(description="last visit", ordering="latest_visit")
    def last_visit(self, client: Client) -> str:
        if client.latest_visit is None:
            return "\u2013"
        return f"{timezone.localtime(client.latest_visit):%d %b %Y}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Clients sign up themselves; the front desk adds callers from its day book
        # (clients.services.add_client_by_staff), where the date of birth is asked.
        return False

    # Screening reviewers see (not change) client pages: who saw each client's health
    # data, and the export for a request made by phone.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _sees_health_data(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or _sees_health_data(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # An erased client stays erased: nobody types a name back in.
        if obj is not None and obj.is_erased:
            return False
        return super().has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and _sees_health_data(request):
            return [*fields, "data_export", "access_history"]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "data_export", "access_history"]

    def get_urls(self):
        return [
            path(
                "<int:client_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="clients_client_export",
            ),
            path(
                "<int:client_id>/export/download/",
                self.admin_site.admin_view(self.export_download_view),
                name="clients_client_export_download",
            ),
            *super().get_urls(),
        ]

    def _client_to_export(self, request: HttpRequest, client_id: int) -> Client:
        if not _sees_health_data(request):
            raise PermissionDenied
        return get_object_or_404(Client, pk=client_id)

    @method_decorator(never_cache)
    def export_view(self, request: HttpRequest, client_id: int) -> HttpResponse:
        """Everything held on the client, for a request made by phone or letter."""
        client = self._client_to_export(request, client_id)
        data = export.client_data(client)
        audit.record_access(request, kind=AccessRecord.Kind.EXPORT, client_ids=[client.pk])
        return TemplateResponse(
            request,
            "clients/admin_export.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": client,
                "title": f"Everything held on {client}",
                "data": data,
            },
        )

    def export_download_view(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = self._client_to_export(request, client_id)
        data = export.client_data(client)
        audit.record_access(request, kind=AccessRecord.Kind.EXPORT, client_ids=[client.pk])
        return export.download(data)

    @admin.display(description="their data")
    def data_export(self, client: Client) -> str:
        return format_html(
            '<a href="{}">See everything held on them</a> \u00b7 '
            '<a href="{}">Download it as a file (JSON)</a>. Each is recorded as an export.',
            reverse("admin:clients_client_export", args=[client.pk]),
            reverse("admin:clients_client_export_download", args=[client.pk]),
        )

    @admin.display(description="who saw their health data")
    def access_history(self, client: Client) -> str:
        records = list(client.access_records.select_related("viewed_by")[:ACCESS_SHOWN])
        if not records:
            return "Nobody yet."
        lines = format_html_join(
            "",
            "<div>{} \u2013 {}: {}</div>",
            (
                (_when(record.viewed_at), record.viewed_by, record.get_kind_display())
                for record in records
            ),
        )
        every = reverse("admin:clients_accessrecord_changelist") + f"?client__id__exact={client.pk}"
        return format_html('{}<div><a href="{}">Every record</a></div>', lines, every)

    def save_model(
        self, request: HttpRequest, obj: Client, form: ClientAdminForm, change: bool
    ) -> None:
        if "date_of_birth" in form.changed_data:
            stored = Client.objects.get(pk=obj.pk)
            try:
                services.correct_date_of_birth(
                    client=stored,
                    new_date_of_birth=form.cleaned_data["date_of_birth"],
                    corrected_by=request.user,
                    reason=form.cleaned_data["date_of_birth_correction_reason"],
                )
            except services.AccountError as error:
                messages.error(request, error.message)
                obj.date_of_birth = stored.date_of_birth
        services.update_contact_details(client=obj, full_name=obj.full_name, phone=obj.phone)


@admin.register(DateOfBirthCorrection)
class DateOfBirthCorrectionAdmin(ActionCheckboxMixin, admin.ModelAdmin):
    """The record of corrections: read-only, so it can be trusted."""

    list_display = [
        "corrected_at",
        "client",
        "old_date_of_birth",
        "new_date_of_birth",
        "corrected_by",
    ]
    list_select_related = ["client", "corrected_by"]
    search_fields = ["client__full_name", "client__user__email"]
    date_hierarchy = "corrected_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# The access audit and erasure requests, and django-axes' login logs, are registered in
# their own modules.
from . import login_log_admin, privacy_admin  # noqa: E402, F401
