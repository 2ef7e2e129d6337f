import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime, AutocompleteSelect
from django.db import IntegrityError
from django.utils import timezone
from django.utils.html import format_html_join

from spa_booking.admin_deletion import KeptRecordsMixin
from spa_booking.admin_errors import ServiceErrorInFormMixin
from spa_booking.admin_lists import ActionCheckboxMixin, DropdownFilter, LongListMixin

from . import services, waitlist
from .free_times import local_days
from .models import (
    Appointment,
    Equipment,
    Notice,
    Qualification,
    Room,
    Therapist,
    TimeOff,
    Treatment,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from .services import holds

NO_OVERLAPPING_HOURS = "appointments_workinghours_no_overlap"
OVERLAPPING_HOURS = next(
    constraint.violation_error_message
    for constraint in WorkingHours._meta.constraints
    if constraint.name == NO_OVERLAPPING_HOURS
)


@admin.register(Equipment)
class EquipmentAdmin(ActionCheckboxMixin, admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


def offer_gaps(treatment: Treatment) -> list[str]:
    """Why a bookable treatment is not offered online, for the manager (annotated by
    Treatment.objects.with_offer_gaps)."""
    gaps = []
    if not treatment.has_therapist:
        gaps.append(
            "No active therapist is qualified for it (or every qualification has expired): "
            "add a qualification on a therapist's page."
        )
    if not treatment.has_room:
        gaps.append(
            "No room in service has all the equipment it needs: give a room that equipment, "
            "or change what the treatment needs."
        )
    return gaps


@admin.register(Treatment)
class TreatmentAdmin(KeptRecordsMixin, ActionCheckboxMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "duration_minutes",
        "buffer_minutes",
        "price",
        "is_back_walking",
        "is_active",
        "offered_online",
        "position",
    ]
    list_filter = ["is_back_walking", "is_active"]
    list_editable = ["position"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_offer_gaps()

    @admin.display(description="offered online")
    def offered_online(self, treatment: Treatment) -> str:
        if not treatment.is_active:
            return "No: not bookable"
        gaps = offer_gaps(treatment)
        if not gaps:
            return "Yes"
        return "No: " + " ".join(gaps)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Said on every visit (after a save too): the site hides it until it is fixed.
        treatment = self.get_queryset(request).filter(pk=object_id).first()
        if request.method == "GET" and treatment is not None and treatment.is_active:
            for gap in offer_gaps(treatment):
                self.message_user(
                    request, f"This treatment is not offered online. {gap}", messages.WARNING
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_back_walking" in form.changed_data and obj.is_back_walking:
            # The gate now applies to everyone booked for it: judged again in this
            # transaction (the admin saves in one), and the front desk is flagged.
            judged = holds.rejudge_treatment(treatment=obj)
            changed = [r for r in judged if r.change != holds.Change.KEPT]
            if changed:
                self.message_user(
                    request,
                    f"{len(changed)} upcoming appointment(s) of {obj} were held or cancelled by "
                    "the back-walking gate; they are flagged for a call.",
                    messages.WARNING,
                )


@admin.register(Room)
class RoomAdmin(KeptRecordsMixin, ActionCheckboxMixin, admin.ModelAdmin):
    list_per_page = 50  # a chain's 180 rooms: each row costs about a millisecond to render
    list_display = ["name", "is_in_service", "equipment_list"]
    list_filter = ["is_in_service", "equipment"]
    filter_horizontal = ["equipment"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("equipment")

    @admin.display(description="equipment")
    def equipment_list(self, room: Room) -> str:
        return ", ".join(item.name for item in room.equipment.all()) or "\u2013"


class QualificationInline(admin.TabularInline):
    model = Qualification
    extra = 0
    autocomplete_fields = ["treatment"]


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Blocks of one therapist may not overlap on a day (the exclusion constraint
    appointments_workinghours_no_overlap). Each form is checked against the rows already
    saved; this checks the forms against each other, so two new overlapping blocks are
    refused on the form too, never by a 500."""

    def clean(self) -> None:
        super().clean()
        blocks = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("starts_at")
            and form.cleaned_data.get("ends_at")
        ]
        for index, form in enumerate(blocks):
            data = form.cleaned_data
            for other in blocks[:index]:
                theirs = other.cleaned_data
                if (
                    data.get("weekday") == theirs.get("weekday")
                    and data["starts_at"] < theirs["ends_at"]
                    and theirs["starts_at"] < data["ends_at"]
                ):
                    form.add_error(None, OVERLAPPING_HOURS)
                    break


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


# How long past time off still shows on the therapist's page (to correct a recent entry).
RECENT_TIME_OFF = datetime.timedelta(days=30)


class TimeOffInline(admin.TabularInline):
    """The therapist's time off that is coming, going on, or ended in the last 30 days.
    Years of holidays would make the page longer every year (each row a form), and time
    off long over no longer bears on any booking; it stays in the database."""

    model = TimeOff
    extra = 0
    verbose_name_plural = "time off (coming, and the last 30 days)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ends_at__gte=timezone.now() - RECENT_TIME_OFF)


class OverlappingHours(Exception):
    """PostgreSQL refused overlapping working hours that the forms let through (two
    managers saving the same therapist at once): shown on the form, like a service's
    refusal."""

    message = OVERLAPPING_HOURS


@admin.register(Therapist)
class TherapistAdmin(
    KeptRecordsMixin, ActionCheckboxMixin, ServiceErrorInFormMixin, admin.ModelAdmin
):
    service_errors = (OverlappingHours,)
    list_per_page = 50  # a chain's 430 therapists: each row costs about a millisecond
    list_display = ["display_name", "user", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["user"]
    search_fields = ["display_name", "user__email"]
    autocomplete_fields = ["user"]
    inlines = [QualificationInline, WorkingHoursInline, TimeOffInline]

    def save_formset(self, request, form, formset, change) -> None:
        try:
            super().save_formset(request, form, formset, change)
        except IntegrityError as error:
            diagnostics = getattr(error.__cause__, "diag", None)
            if getattr(diagnostics, "constraint_name", None) == NO_OVERLAPPING_HOURS:
                raise OverlappingHours from error
            raise


class DayFilter(admin.SimpleListFilter):
    title = "day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("tomorrow", "Tomorrow"),
            ("next7", "Next 7 days"),
            ("past", "Past"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        spans = {
            "today": local_days(today),
            "tomorrow": local_days(today + datetime.timedelta(days=1)),
            "next7": (timezone.now(), local_days(today + datetime.timedelta(days=7))[1]),
        }
        if self.value() in spans:
            start, end = spans[self.value()]
            return queryset.filter(starts_at__gte=start, starts_at__lt=end)
        if self.value() == "past":
            return queryset.filter(starts_at__lt=timezone.now())
        return queryset


def therapist_lookup(model, placeholder: str) -> AutocompleteSelect:
    """A therapist typed and looked up (the therapists admin's search), not a list of a
    chain's 430 names: each option is a template rendered on every page showing the form."""
    return AutocompleteSelect(
        model._meta.get_field("therapist"), admin.site, attrs={"data-placeholder": placeholder}
    )


class AppointmentAdminForm(forms.ModelForm):
    start = forms.SplitDateTimeField(
        label="Starts at",
        widget=AdminSplitDateTime,
        help_text="In the spa's local time. It must be a free time of the therapist and a room.",
    )
    therapist = forms.ModelChoiceField(
        queryset=Therapist.objects.active(),
        required=False,
        empty_label="Any available therapist",
        widget=therapist_lookup(Appointment, "Any available therapist"),
    )
    health_unchanged = forms.BooleanField(
        label="The client confirms nothing in their health has changed since their screening",
        required=False,
        help_text="Back-walking only: ask the client, and tick only if they confirm.",
    )

    class Meta:
        model = Appointment
        fields = ["client", "treatment", "therapist"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A past or cancelled appointment shows its start read-only: no field then.
        if self.instance.pk and "start" in self.fields:
            self.fields["start"].initial = timezone.localtime(self.instance.starts_at)


def notice_line(notice: Notice) -> str:
    """One email the client is owed, for staff: when it was owed and what became of it.

    Also shown on a screening's admin page, for its decision emails.
    """

    def when(moment: datetime.datetime) -> str:
        return f"{timezone.localtime(moment):%d %b %Y %H:%M}"

    if notice.sent_at:
        outcome = f"sent {when(notice.sent_at)}"
    elif notice.skipped_at:
        outcome = "not sent: a later email replaced it"
    elif notice.given_up_at:
        outcome = f"not sent, gave up {when(notice.given_up_at)}"
    else:
        outcome = f"waiting, next try {when(notice.next_attempt_at)}"
    line = f"{notice.get_kind_display()} of {when(notice.created_at)}: {outcome}"
    if notice.last_error:
        line += f" ({notice.attempts} attempts; last error: {notice.last_error})"
    return line


@admin.register(Appointment)
class AppointmentAdmin(LongListMixin, ServiceErrorInFormMixin, admin.ModelAdmin):
    """Staff book, move and cancel here, through the same services as clients.

    Five years of a chain's bookings: the list is ordered by the start alone (each filter
    has an index by filter and start; another column's order would sort them all).
    """

    service_errors = (services.BookingError,)
    form = AppointmentAdminForm
    list_display = ["starts_at", "treatment", "client", "therapist", "room", "status"]
    list_filter = [
        DayFilter,
        "status",
        "needs_follow_up",
        ("therapist", DropdownFilter.named_by("display_name")),
        ("room", DropdownFilter.named_by("name")),
        "treatment",
    ]
    list_select_related = ["treatment", "client", "therapist", "room"]
    search_fields = ["client__full_name", "client__user__email", "client__phone"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["client"]
    actions = ["cancel_selected"]
    ordering = ["-starts_at"]
    sortable_by = ["starts_at"]

    # What staff enter; the rest of an appointment is the services' to set.
    booking_fields = ["start", "therapist", "health_unchanged"]
    record_fields = [
        "room",
        "ends_at",
        "status",
        "needs_follow_up",
        "pre_session_check_summary",
        "created_at",
        "updated_at",
        "cancelled_at",
        "cancellation_reason",
        "reminder_sent_at",
        "notices_summary",
    ]

    def get_fields(self, request, obj=None):
        if obj is not None and not obj.is_open:
            # Nothing left to book or move: the record, read-only.
            return ["client", "treatment", "starts_at", "therapist", *self.record_fields]
        fields = ["client", "treatment", *self.booking_fields]
        return fields if obj is None else [*fields, *self.record_fields]

    @admin.display(description="emails to the client")
    def notices_summary(self, appointment: Appointment) -> str:
        lines = [(notice_line(notice),) for notice in appointment.notices.all()]
        return format_html_join("", "{}<br>", lines) if lines else "\u2013"

    @admin.display(description="pre-session check")
    def pre_session_check_summary(self, appointment: Appointment) -> str:
        check = getattr(appointment, "pre_session_check", None)
        if check is None:
            return "\u2013"
        when = timezone.localtime(check.recorded_at)
        # The reason for a stop is health data: screening reviewers read it in the
        # screening's decisions; other staff only learn that it was stopped.
        return f"{check.get_outcome_display()} at {when:%H:%M} by {check.recorded_by}"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = ["client", "treatment", *self.record_fields]
        # Closed: the booking fields leave the form, and the record shows when and who.
        return readonly if obj.is_open else [*readonly, *self.booking_fields, "starts_at"]

    def save_model(self, request, obj, form, change):
        if change and not obj.is_open:
            return  # cancelled or past: nothing here to change
        start = form.cleaned_data["start"]
        therapist = form.cleaned_data["therapist"]
        if not change:
            saved = services.book_appointment(
                client=form.cleaned_data["client"],
                treatment=form.cleaned_data["treatment"],
                start=start,
                therapist=therapist,
                by_staff=True,
                health_unchanged=form.cleaned_data["health_unchanged"],
            )
        elif "start" in form.changed_data or "therapist" in form.changed_data:
            saved = services.reschedule_appointment(
                appointment=obj,
                start=start,
                therapist=therapist,
                by_staff=True,
                health_unchanged=form.cleaned_data["health_unchanged"],
            )
        else:
            return
        for field in Appointment._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Appointments are cancelled, never deleted: the history stays.
        return False

    @admin.action(description="Cancel selected appointments (clients are emailed)")
    def cancel_selected(self, request, queryset):
        cancelled = 0
        for appointment in queryset:
            try:
                services.cancel_appointment(
                    appointment=appointment, reason="Cancelled by the spa.", by_staff=True
                )
                cancelled += 1
            except services.BookingError as error:
                self.message_user(request, f"{appointment}: {error.message}", messages.WARNING)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} appointment(s).", messages.SUCCESS)


class WaitlistDayFilter(admin.SimpleListFilter):
    """Who still waits on a day. `?day=2026-12-02` is the list the front desk's day book
    links to (appointments.waitlist.staff_day_url)."""

    title = "waiting on"
    parameter_name = "day"

    def _day(self) -> datetime.date | None:
        value = self.value()
        today = timezone.localdate()
        if value == "today":
            return today
        if value == "tomorrow":
            return today + datetime.timedelta(days=1)
        try:
            return datetime.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    def lookups(self, request, model_admin):
        choices = [("today", "Today"), ("tomorrow", "Tomorrow")]
        day = self._day()
        if day is not None and self.value() not in ("today", "tomorrow"):
            choices.append((self.value(), f"{day:%a %d %b %Y}"))
        return choices

    def queryset(self, request, queryset):
        day = self._day()
        return queryset if day is None else queryset.waiting_on(day)


class WaitlistOfferInline(admin.TabularInline):
    """The times emailed to the client (never the link's secret)."""

    model = WaitlistOffer
    extra = 0
    can_delete = False
    fields = ["starts_at", "created_at", "expires_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class WaitlistEntryForm(forms.ModelForm):
    therapist = forms.ModelChoiceField(
        queryset=Therapist.objects.active(),
        required=False,
        empty_label="Any therapist",
        widget=therapist_lookup(WaitlistEntry, "Any therapist"),
    )

    class Meta:
        model = WaitlistEntry
        fields = ["client", "treatment", "therapist", "first_day", "last_day"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(LongListMixin, ServiceErrorInFormMixin, admin.ModelAdmin):
    """The front desk adds a caller here, through the same service as the site, and sees
    who waits on a day. Entries are never edited or deleted: they end (booked, left,
    expired) and the record stays."""

    service_errors = (services.BookingError,)
    form = WaitlistEntryForm
    list_display = ["client", "phone", "treatment", "therapist_or_any", "days", "state", "added"]
    list_filter = [WaitlistDayFilter, "state", "treatment"]
    list_select_related = ["client", "treatment", "therapist", "created_by"]
    search_fields = ["client__full_name", "client__user__email", "client__phone"]
    # Ordered by when it was added, which an index serves; the day filter finds who
    # waits on a day.
    sortable_by = ["added"]
    autocomplete_fields = ["client"]
    actions = ["take_off_the_waitlist"]
    inlines = [WaitlistOfferInline]
    record_fields = ["state", "created_at", "created_by", "updated_at", "appointment"]

    def get_fields(self, request, obj=None):
        fields = ["client", "treatment", "therapist", "first_day", "last_day"]
        return fields if obj is None else [*fields, *self.record_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["client", "treatment", "therapist", "first_day", "last_day", *self.record_fields]

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    @admin.display(description="phone", ordering="client__phone")
    def phone(self, entry: WaitlistEntry) -> str:
        return entry.client.phone

    @admin.display(description="therapist", ordering="therapist__display_name")
    def therapist_or_any(self, entry: WaitlistEntry) -> str:
        return entry.therapist.display_name if entry.therapist else "Any"

    @admin.display(description="days", ordering="first_day")
    def days(self, entry: WaitlistEntry) -> str:
        if entry.first_day == entry.last_day:
            return f"{entry.first_day:%a %d %b}"
        return f"{entry.first_day:%a %d %b} \u2013 {entry.last_day:%a %d %b}"

    @admin.display(description="added", ordering="created_at")
    def added(self, entry: WaitlistEntry) -> str:
        when = f"{timezone.localtime(entry.created_at):%d %b %H:%M}"
        return f"{when} by {entry.created_by}" if entry.created_by else f"{when} online"

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing here to change: an entry ends through the action
        saved = waitlist.join_waitlist(
            client=form.cleaned_data["client"],
            treatment=form.cleaned_data["treatment"],
            therapist=form.cleaned_data["therapist"],
            first_day=form.cleaned_data["first_day"],
            last_day=form.cleaned_data["last_day"],
            created_by=request.user,
        )
        for field in WaitlistEntry._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Take selected clients off the waitlist")
    def take_off_the_waitlist(self, request, queryset):
        taken_off = 0
        for entry in queryset.active():
            waitlist.leave_waitlist(entry=entry)
            taken_off += 1
        self.message_user(
            request, f"Took {taken_off} client(s) off the waitlist.", messages.SUCCESS
        )
