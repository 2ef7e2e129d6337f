from django.contrib import admin

from .models import Equipment, Qualification, Room, Therapist, TimeOff, Treatment, WorkingHours


@admin.register(Equipment)
class EquipmentAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]


@admin.register(Treatment)
class TreatmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "duration_minutes",
        "buffer_minutes",
        "price",
        "is_back_walking",
        "is_active",
        "position",
    ]
    list_filter = ["is_back_walking", "is_active"]
    list_editable = ["position"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["equipment"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
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


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["user"]
    search_fields = ["display_name", "user__email"]
    autocomplete_fields = ["user"]
    inlines = [QualificationInline, WorkingHoursInline, TimeOffInline]
