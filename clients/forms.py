import datetime

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from .models import EARLIEST_DATE_OF_BIRTH, Client, User, phone_validator

MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


class DayMonthYearWidget(forms.MultiWidget):
    """Day, month and year as three labelled boxes (the GOV.UK date pattern)."""

    template_name = "clients/widgets/date_of_birth.html"
    part_labels = ("Day", "Month", "Year")

    def __init__(self, attrs: dict | None = None, autocomplete: str = "") -> None:
        parts = [
            forms.TextInput(
                attrs={
                    "inputmode": "numeric",
                    "maxlength": size,
                    **({"autocomplete": f"{autocomplete}-{part}"} if autocomplete else {}),
                }
            )
            for part, size in (("day", "2"), ("month", "9"), ("year", "4"))
        ]
        super().__init__(parts, attrs)

    def decompress(self, value: datetime.date | None) -> list:
        if value:
            return [value.day, value.month, value.year]
        return [None, None, None]

    def get_context(self, name: str, value, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        for subwidget, label in zip(context["widget"]["subwidgets"], self.part_labels, strict=True):
            subwidget["part_label"] = label
            subwidget["part_name"] = label.lower()
        return context


class PastDateField(forms.MultiValueField):
    """A date on or before today from three boxes, refused with a message that says
    what to fix ("Date of surgery must be a real date")."""

    default_error_messages = {
        "incomplete": "{noun} must include a {parts}.",
        "invalid": "{noun} must be a real date.",
        "year": "Year must include 4 numbers.",
        "future": "{noun} must be today or in the past.",
        "too_early": "{noun} must be the same as or after {earliest}.",
    }

    def __init__(
        self,
        *,
        noun: str,
        earliest: datetime.date = EARLIEST_DATE_OF_BIRTH,
        autocomplete: str = "",
        **kwargs,
    ) -> None:
        self.noun = noun
        self.earliest = earliest
        parts = (
            forms.CharField(required=False, max_length=2),
            forms.CharField(required=False, max_length=9),
            forms.CharField(required=False, max_length=4),
        )
        kwargs.setdefault("help_text", "For example, 27 3 1990")
        super().__init__(
            parts,
            require_all_fields=False,
            widget=DayMonthYearWidget(autocomplete=autocomplete),
            **kwargs,
        )

    def _error(self, code: str, **values) -> forms.ValidationError:
        message = self.error_messages[code].format(
            noun=self.noun, earliest=f"{self.earliest:%-d %B %Y}", **values
        )
        return forms.ValidationError(message, code=code)

    def compress(self, data_list: list[str]) -> datetime.date | None:
        if not data_list or not any(data_list):
            return None
        day, month, year = (part.strip() for part in data_list)
        missing = [
            name
            for name, part in zip(("day", "month", "year"), (day, month, year), strict=True)
            if not part
        ]
        if missing:
            raise self._error("incomplete", parts=" and a ".join(missing))
        month_number = MONTH_NAMES.get(month.lower(), month)
        if not (day.isdigit() and str(month_number).isdigit() and year.isdigit()):
            raise self._error("invalid")
        if len(year) != 4:
            raise self._error("year")
        try:
            value = datetime.date(int(year), int(month_number), int(day))
        except ValueError:
            raise self._error("invalid") from None
        if value > timezone.localdate():
            raise self._error("future")
        if value < self.earliest:
            raise self._error("too_early")
        return value


class DateOfBirthField(PastDateField):
    default_error_messages = {
        "required": "Enter your date of birth.",
        "future": "Date of birth must be in the past.",
    }

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "help_text",
            "For example, 27 3 1990. We ask because back-walking is only for adults; "
            "you cannot change it yourself later, so please check it.",
        )
        super().__init__(noun="Date of birth", autocomplete="bday", **kwargs)


class SignUpForm(forms.Form):
    full_name = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="You log in with this, and we send your booking confirmations here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        validators=[phone_validator],
        help_text="So we can reach you if something changes on the day.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    date_of_birth = DateOfBirthField(label="Date of birth")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password and not all numbers.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_full_name(self) -> str:
        full_name = " ".join(self.cleaned_data["full_name"].split())
        if not full_name:
            raise forms.ValidationError("Enter your full name.")
        return full_name

    def clean_email(self) -> str:
        # Whether the address has an account is never said here: the sign-up service
        # emails the address either way (no account enumeration).
        return User.objects.normalize_email(self.cleaned_data["email"])

    def clean(self) -> dict:
        cleaned = super().clean()
        password1 = cleaned.get("password1")
        password2 = cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            candidate = User(email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        max_length=254,  # User.email's length: a longer address has no account
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match an account. "
        "Check them and try again.",
    }


class ContactDetailsForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["full_name", "phone"]
        labels = {"phone": "Phone number"}
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }

    def clean_full_name(self) -> str:
        full_name = " ".join(self.cleaned_data["full_name"].split())
        if not full_name:
            raise forms.ValidationError("Enter your full name.")
        return full_name
