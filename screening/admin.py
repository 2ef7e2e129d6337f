"""Staff review of health screenings: only the "Screening reviewers" group sees answers.

Every screening page checks the one permission screening.review_healthscreening.
Nothing here deletes a screening, the answers are read-only, and the admin's
change history records which decision was made, never what was answered.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache

from appointments.admin import notice_line
from appointments.models import Appointment
from appointments.services.holds import Change
from clients import audit
from clients.age import age_on
from clients.models import AccessRecord
from spa_booking.admin_errors import ServiceErrorInFormMixin
from spa_booking.admin_lists import LongListMixin

from . import rules, services
from .forms import ScreeningForm
from .models import HealthScreening, ScreeningToReview

REVIEW_PERMISSION = "screening.review_healthscreening"


class ReviewChoice:
    """The choices on the review form (what the reviewer picks, not what is recorded)."""

    APPROVE = "approve"
    DECLINE = "decline"
    DOCTORS_NOTE = "doctors_note"


class ReviewForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        widget=forms.RadioSelect,
        choices=[],
    )
    note = forms.CharField(
        label="Why (for staff only)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for every decision. The client never sees it.",
    )
    therapist_note_text = forms.CharField(
        label="Note for the therapist",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the therapist should watch out for (for example: no pressure on the "
        "lower back). Shown to the client's therapist.",
    )

    class Meta:
        model = HealthScreening
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        screening = self.instance
        choices = []
        if screening.awaits_review:
            choices = [
                (
                    ReviewChoice.APPROVE,
                    "Approve: clear for back-walking (held bookings are confirmed)",
                ),
                (
                    ReviewChoice.DECLINE,
                    "Decline (the client's upcoming back-walking is cancelled)",
                ),
            ]
        elif screening.may_be_cleared_on_doctors_note:
            choices = [(ReviewChoice.DOCTORS_NOTE, "Clear on a doctor's note")]
        self.fields["decision"].choices = choices
        self.fields["decision"].required = bool(choices)
        self.fields["decision"].error_messages["required"] = (
            "Choose a decision. Nothing was saved; your notes are kept below."
        )
        self.fields["therapist_note_text"].initial = screening.therapist_note


class HealthScreeningAdmin(LongListMixin, ServiceErrorInFormMixin, admin.ModelAdmin):
    form = ReviewForm
    service_errors = (services.ScreeningError,)
    list_display = [
        "__str__",
        "client_name",
        "client_age",
        "outcome",
        "review",
        "reasons_summary",
        "submitted_at",
        "held_appointments",
    ]
    # No filter by outcome: a filter's value travels in every link of the list and its
    # pages (and so into browser history, proxies' logs and Referer headers), and an
    # outcome is health data. For the same reason no filter is carried to the pages
    # a list links to (Django's _changelist_filters).
    list_filter = ["review"]
    preserve_filters = False
    search_fields = ["client__full_name", "client__user__email"]
    # Newest first, by the index on the submission; another order would sort them all.
    sortable_by = ["submitted_at"]
    list_select_related = ["client"]
    readonly_fields = [
        "client_name",
        "client_age",
        "submitted_at",
        "valid_until",
        "outcome",
        "eligible_from",
        "reasons_summary",
        "therapist_notes_summary",
        "answers_table",
        "held_appointments_list",
        "review",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "therapist_note",
        "decision_history",
        "decision_emails",
    ]
    fieldsets = [
        ("Client", {"fields": ["client_name", "client_age"]}),
        (
            "Screening",
            {
                "fields": [
                    "submitted_at",
                    "valid_until",
                    "outcome",
                    "eligible_from",
                    "reasons_summary",
                    "therapist_notes_summary",
                    "answers_table",
                ]
            },
        ),
        ("Appointments held on it", {"fields": ["held_appointments_list"]}),
        (
            "Review",
            {
                "fields": [
                    "review",
                    "reviewed_by",
                    "reviewed_at",
                    "review_note",
                    "therapist_note",
                    "decision_history",
                    "decision_emails",
                ]
            },
        ),
        ("Decide", {"fields": ["decision", "note", "therapist_note_text"]}),
    ]

    # Only reviewers: the one permission, for every page.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # clients submit screenings themselves

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest):
        # Counted for each screening shown (a subquery), not by joining every
        # screening to its appointments and grouping them all before the page is cut.
        held = (
            Appointment.objects.filter(
                screening=OuterRef("pk"), status=Appointment.Status.PENDING_REVIEW
            )
            .order_by()
            .values("screening")
            .annotate(count=Count("*"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("client", "reviewed_by")
            .annotate(held_count=Coalesce(Subquery(held, output_field=IntegerField()), 0))
        )

    # Pages with health answers are never cached by the browser or a proxy, and every
    # one shown is recorded in the client's access record.
    @method_decorator(never_cache)
    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            # The list shows each screening's outcome and reasons. The page's rows,
            # loaded here once, are the ones the template then shows.
            audit.record_access(
                request,
                kind=AccessRecord.Kind.SCREENING_LIST,
                client_ids={screening.client_id for screening in changelist.result_list},
            )
        return response

    @method_decorator(never_cache)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            audit.record_access(
                request, kind=AccessRecord.Kind.SCREENING_ANSWERS, client_ids=[obj.client_id]
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and (
            not (obj.awaits_review or obj.may_be_cleared_on_doctors_note) or _own(obj, request)
        ):
            # Nothing to decide (or not theirs to decide): no inputs whose text would
            # silently go nowhere.
            return [fieldset for fieldset in fieldsets if fieldset[0] != "Decide"]
        return fieldsets

    def save_model(self, request, obj, form, change) -> None:
        decision = form.cleaned_data.get("decision")
        note = form.cleaned_data.get("note", "")
        therapist_note = form.cleaned_data.get("therapist_note_text", "")
        arguments = {"screening": obj, "by": request.user, "therapist_note": therapist_note}
        decided = None
        if decision == ReviewChoice.APPROVE:
            decided = services.approve_screening(note=note, **arguments)
        elif decision == ReviewChoice.DECLINE:
            decided = services.decline_screening(note=note, **arguments)
        elif decision == ReviewChoice.DOCTORS_NOTE:
            decided = services.clear_on_doctors_note(note=note, **arguments)
        obj.refresh_from_db()
        if decided is not None:
            self._tell_what_changed(request, decided)

    def _tell_what_changed(self, request: HttpRequest, decided: services.Decided) -> None:
        """What the decision did to the client's upcoming back-walking, in staff words."""
        for reconsidered in decided.appointments:
            if reconsidered.change == Change.KEPT:
                continue
            appointment = reconsidered.appointment
            when = f"{timezone.localtime(appointment.starts_at):%a %d %b %H:%M}"
            what = {
                Change.CONFIRMED: "confirmed; the client is emailed",
                Change.HELD: "held for this review",
                Change.CANCELLED: "cancelled by the spa and flagged for a call; the client is "
                "emailed why",
            }[reconsidered.change]
            level = messages.WARNING if reconsidered.change == Change.CANCELLED else messages.INFO
            self.message_user(request, f"Back-walking on {when}: {what}.", level)

    def construct_change_message(self, request, form, formsets, add=False):
        # The history says what was decided, never what was answered.
        decision = form.cleaned_data.get("decision") or "no decision"
        return [{"changed": {"fields": [f"decision: {decision}"]}}]

    # Read-only displays

    @admin.display(description="client")
    def client_name(self, screening: HealthScreening) -> str:
        return screening.client.full_name

    @admin.display(description="age today")
    def client_age(self, screening: HealthScreening) -> int:
        return age_on(screening.client.date_of_birth, timezone.localdate())

    @admin.display(description="reasons")
    def reasons_summary(self, screening: HealthScreening) -> str:
        return "; ".join(screening.reasons) or "\u2013"

    @admin.display(description="therapist notes (from the answers)")
    def therapist_notes_summary(self, screening: HealthScreening) -> str:
        return "; ".join(screening.therapist_notes) or "\u2013"

    @admin.display(description="held")
    def held_appointments(self, screening: HealthScreening) -> int:
        return screening.held_count

    @admin.display(description="answers")
    def answers_table(self, screening: HealthScreening) -> str:
        # Only the questions the client's version of the questionnaire asked them.
        version = screening.questionnaire_version
        try:
            answers = rules.answers_as_asked(screening.answers, version=version)
        except ValueError:
            return f"These answers do not match questionnaire version {version}: not shown."
        rows = [
            (ScreeningForm.question_for(name), ScreeningForm.answer_text(name, value))
            for name, value in answers.items()
        ]
        return format_html(
            '<p>Questionnaire version {}</p><table class="screening-answers">{}</table>',
            version,
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="all decisions")
    def decision_history(self, screening: HealthScreening) -> str:
        decisions = screening.decisions.select_related("decided_by")
        if not decisions:
            return "None yet"
        return format_html_join(
            "",
            "<div>{} \u2013 {} by {}{}</div>",
            (
                (
                    f"{timezone.localtime(d.decided_at):%d %b %Y %H:%M}",
                    d.get_decision_display(),
                    d.decided_by,
                    f": {d.note}" if d.note else "",
                )
                for d in decisions
            ),
        )

    @admin.display(description="emails to the client")
    def decision_emails(self, screening: HealthScreening) -> str:
        lines = [(notice_line(notice),) for notice in screening.notices.all()]
        return format_html_join("", "{}<br>", lines) if lines else "\u2013"

    @admin.display(description="appointments")
    def held_appointments_list(self, screening: HealthScreening) -> str:
        appointments = screening.appointments.select_related("treatment").order_by("starts_at")
        if not appointments:
            return "None"
        return format_html_join(
            "",
            "<div>{} \u2013 {} ({})</div>",
            (
                (
                    f"{timezone.localtime(a.starts_at):%a %d %b %Y %H:%M}",
                    a.treatment.name,
                    a.get_status_display(),
                )
                for a in appointments
            ),
        )


def _own(screening: HealthScreening, request: HttpRequest) -> bool:
    return screening.client.user_id == request.user.pk


@admin.register(HealthScreening)
class AllScreeningsAdmin(HealthScreeningAdmin):
    """Every screening, newest first, searchable by client."""


@admin.register(ScreeningToReview)
class ReviewQueueAdmin(HealthScreeningAdmin):
    """The queue: screenings waiting for a human decision, oldest first."""

    list_filter: list = []

    def get_queryset(self, request: HttpRequest):
        # Nobody decides on their own screening, so it is not in their queue.
        return super().get_queryset(request).awaiting_review().exclude(client__user=request.user)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # A screening decided a moment ago has left the queue, but its page
        # (linked from the success message and the history) still opens.
        queryset = HealthScreeningAdmin.get_queryset(self, request)
        try:
            return queryset.get(pk=int(object_id))
        except (ValueError, HealthScreening.DoesNotExist):
            return None

    def get_ordering(self, request: HttpRequest):
        return ["submitted_at", "pk"]
