"""The privacy side of the admin: who saw a client's health data, and erasure requests."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from spa_booking.admin_errors import ServiceErrorInFormMixin
from spa_booking.admin_lists import ActionCheckboxMixin, DropdownFilter, LongListMixin

from . import services
from .admin import _sees_health_data
from .models import (
    AccessRecord,
    ErasureRequest,
    User,
)

ERASURE_PERMISSION = "clients.decide_erasurerequest"


class ViewerFilter(DropdownFilter):
    """Who looked: the staff and therapists, the only accounts that see health data."""

    def field_choices(self, field, request, model_admin):
        # Each through its own index (user_staff_idx, the therapists' user ids): an OR
        # across the two would read every client's account.
        staff = User.objects.filter(is_staff=True).values_list("pk", "email")
        therapists = User.objects.filter(therapist__isnull=False).values_list("pk", "email")
        return list(staff.union(therapists).order_by("email"))


@admin.register(AccessRecord)
class AccessRecordAdmin(LongListMixin, admin.ModelAdmin):
    """Who saw whose health data: read-only, for screening reviewers and superusers.
    Every screening list adds records: newest first, by the one order an index serves."""

    list_display = ["viewed_at", "client", "viewed_by", "kind", "address"]
    sortable_by = ["viewed_at"]
    list_filter = ["kind", ("viewed_by", ViewerFilter)]
    list_select_related = ["client", "viewed_by"]
    # The client by name or email; who looked is a filter. A search across both would
    # look up each word on its own ("Ana" is thousands of clients) at a chain's size.
    search_fields = ["client__full_name", "client__user__email"]
    search_help_text = "A client's name or email. Who looked: the filter on the right."
    date_hierarchy = "viewed_at"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _sees_health_data(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return _sees_health_data(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ErasureRequestForm(forms.ModelForm):
    """Staff record a request made by phone (the client), or decide an open one."""

    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        widget=forms.RadioSelect,
        choices=[
            (
                "erase",
                "Carry it out: erase the client now (their upcoming appointments are "
                "cancelled; this cannot be undone)",
            ),
            ("refuse", "Refuse it"),
        ],
    )
    reason = forms.CharField(
        label="Why it is refused",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to refuse (for example, records the spa must keep for a period). "
        "The client sees it on their account page.",
    )

    class Meta:
        model = ErasureRequest
        fields = ["client"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"].required = self.instance.pk is not None and self.instance.is_open


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ActionCheckboxMixin, ServiceErrorInFormMixin, admin.ModelAdmin):
    """Clients ask from "My account"; staff with the permission carry it out or refuse."""

    form = ErasureRequestForm
    service_errors = (services.AccountError,)
    list_display = ["__str__", "client", "requested_at", "state", "decided_by", "decided_at"]
    list_filter = ["state"]
    list_select_related = ["client", "decided_by"]
    search_fields = ["client__full_name", "client__user__email"]
    raw_id_fields = ["client"]
    decided = ["client", "requested_at", "state", "decided_by", "decided_at", "refusal_reason"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ERASURE_PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(ERASURE_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A request made by phone or letter.
        return request.user.has_perm(ERASURE_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(ERASURE_PERMISSION) and (obj is None or obj.is_open)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": ["client"]})]
        fieldsets = [(None, {"fields": self.decided})]
        if obj.is_open:
            fieldsets.append(("Decide", {"fields": ["decision", "reason"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [] if obj is None else self.decided

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            created = services.request_erasure(client=obj.client)
            obj.pk = created.pk
        elif form.cleaned_data.get("decision") == "erase":
            services.erase_client(client=obj.client, by=request.user)
            self.message_user(
                request,
                "The client is erased: their health records are deleted, their name and "
                "contact details removed, their login closed and their upcoming "
                "appointments cancelled.",
            )
        elif form.cleaned_data.get("decision") == "refuse":
            services.refuse_erasure(
                erasure_request=obj, by=request.user, reason=form.cleaned_data["reason"]
            )
        obj.refresh_from_db()

    def construct_change_message(self, request, form, formsets, add=False):
        if add:
            return super().construct_change_message(request, form, formsets, add)
        return [{"changed": {"fields": [f"decision: {form.cleaned_data.get('decision')}"]}}]
