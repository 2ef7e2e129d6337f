from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils import timezone

from . import services
from .models import Client, DateOfBirthCorrection, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "client__full_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]


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
class ClientAdmin(admin.ModelAdmin):
    form = ClientAdminForm
    list_display = ["full_name", "user", "phone", "date_of_birth", "created_at"]
    search_fields = ["full_name", "user__email", "phone"]
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Clients sign up themselves; that is where the date of birth is asked.
        return False

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
class DateOfBirthCorrectionAdmin(admin.ModelAdmin):
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
