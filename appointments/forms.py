import datetime

from django import forms

from spa_booking.written_once import Lookup

from .models import Therapist

START_FORMAT = "%Y-%m-%dT%H:%MZ"


def format_start(start: datetime.datetime) -> str:
    """A start time as it travels in links and forms: UTC, to the minute."""
    return start.astimezone(datetime.UTC).strftime(START_FORMAT)


class StartField(forms.CharField):
    """A start time picked from the list of free times (UTC, e.g. 2026-12-01T10:15Z)."""

    default_error_messages = {
        "required": "Pick a time from the list of free times.",
        "invalid": "Pick a time from the list of free times.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(widget=forms.HiddenInput, **kwargs)

    def to_python(self, value: str) -> datetime.datetime | None:
        value = super().to_python(value)
        if not value:
            return None
        if len(value) > len("2026-12-01T10:15Z"):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            start = datetime.datetime.strptime(value, START_FORMAT).replace(tzinfo=datetime.UTC)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not 1 < start.year < 9999:
            # At either end of the calendar (only a tampered link) the spa's local time,
            # or a day either side, would fall off it.
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return start

    def prepare_value(self, value):
        if isinstance(value, datetime.datetime):
            return format_start(value)
        return value


class TherapistChoiceField(forms.Field):
    """A therapist picked from a list (a hidden id), or "any" (None): an active therapist."""

    default_error_messages = {
        "invalid_choice": "Pick a therapist from the list, or any available therapist.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, widget=forms.HiddenInput, **kwargs)

    def prepare_value(self, value):
        return value.pk if isinstance(value, Therapist) else value

    def to_python(self, value) -> Therapist | None:
        if value in ("any", "", None):
            return None
        therapist = _ACTIVE_THERAPIST.first(int(value)) if str(value).isdecimal() else None
        if therapist is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return therapist


# Every booking's therapist (spa_booking/written_once.py).
_ACTIVE_THERAPIST = Lookup(lambda pk: Therapist.objects.active().filter(pk=pk), stand_in=-(2**62))


class HealthChangedField(forms.ChoiceField):
    """Back-walking only: has anything in the client's health changed since the screening?"""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            label="Has anything in your health changed since your screening?",
            required=False,
            choices=[
                ("no", "No, nothing has changed"),
                ("yes", "Yes, something has changed (you fill in a new screening first)"),
            ],
            widget=forms.RadioSelect,
            **kwargs,
        )


class BookingForm(forms.Form):
    start = StartField()
    therapist = TherapistChoiceField()
    booking_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    health_changed = HealthChangedField()


class RescheduleForm(forms.Form):
    start = StartField()
    therapist = TherapistChoiceField()
    health_changed = HealthChangedField()


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="It helps us to know, but you do not have to say.",
    )


class DayForm(forms.Form):
    """Which therapist's free times to show: one of them, or anyone."""

    therapist = TherapistChoiceField()


class WaitlistForm(forms.Form):
    """Join the waitlist: a day (first_day alone) or a range of days, with a therapist or any."""

    first_day = forms.DateField(
        label="From", error_messages={"required": "Pick the first day.", "invalid": "Pick a day."}
    )
    last_day = forms.DateField(
        label="To", required=False, error_messages={"invalid": "Pick a day."}
    )
    therapist = TherapistChoiceField()

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("first_day") and not cleaned.get("last_day"):
            cleaned["last_day"] = cleaned["first_day"]
        return cleaned
