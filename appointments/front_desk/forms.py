"""The shape of what the front desk sends; the services decide whether it is allowed."""

from django import forms

from clients.forms import PastDateField
from clients.models import Client, phone_validator

from ..forms import StartField, TherapistChoiceField
from ..models import Treatment


class TreatmentField(forms.ModelChoiceField):
    """A treatment by its slug (readable in links: ?treatment=swedish-60)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "Free times for")
        super().__init__(queryset=Treatment.objects.active(), to_field_name="slug", **kwargs)


class DayBookForm(forms.Form):
    """Which day, and whose free times: the day book's own navigation (GET)."""

    date = forms.DateField(
        label="Day", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    treatment = TreatmentField(required=False, empty_label=None)
    page = forms.IntegerField(label="Therapists", required=False, min_value=1)


class ArrivalsForm(forms.Form):
    """Which page of today's arrivals (GET); none: the page of who is in or coming next."""

    page = forms.IntegerField(required=False, min_value=1)


class SlotForm(forms.Form):
    """A free time picked in the day book: a treatment, a start and a therapist."""

    treatment = TreatmentField(widget=forms.HiddenInput)
    start = StartField()
    therapist = TherapistChoiceField()


class ClientChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            queryset=Client.objects.filter(erased_at__isnull=True).select_related("user"),
            widget=forms.HiddenInput,
            error_messages={"invalid_choice": "Find the client again: that one is not on file."},
            **kwargs,
        )


class BookForm(SlotForm):
    client = ClientChoiceField()
    booking_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    health_unchanged = forms.BooleanField(
        label="The client confirms nothing in their health has changed since their last "
        "health screening",
        required=False,
        help_text="Back-walking only. Ask them, and tick only if they confirm.",
    )


class ClientSearchForm(forms.Form):
    q = forms.CharField(
        label="Find a client",
        max_length=100,
        required=False,
        help_text="Name, email, phone number or date of birth (27/3/1990).",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class NewClientForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        validators=[phone_validator],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label="Email address (optional)",
        max_length=254,
        required=False,
        help_text="With one, they get an email to choose a password and can then book online.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    date_of_birth = PastDateField(
        label="Date of birth",
        noun="Date of birth",
        help_text="For example, 27 3 1990. Back-walking is only for adults; check it with them.",
        error_messages={"required": "Enter the client's date of birth."},
    )

    def clean_full_name(self) -> str:
        full_name = " ".join(self.cleaned_data["full_name"].split())
        if not full_name:
            raise forms.ValidationError("Enter the client's full name.")
        return full_name


class MoveForm(forms.Form):
    start = StartField()
    therapist = TherapistChoiceField()
    health_unchanged = BookForm.base_fields["health_unchanged"]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason the client reads (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="It is in the cancellation email. No health details.",
    )
