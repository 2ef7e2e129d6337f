import datetime

from django import forms

from clients.forms import PastDateField

from . import rules

YES_NO = [("yes", "Yes"), ("no", "No")]
EARLIEST_EVENT = datetime.date(2000, 1, 1)


def yes_no(question: str, help_text: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=question,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        help_text=help_text,
        error_messages={"required": f"Answer yes or no: {question}"},
    )


def event_date(noun: str) -> PastDateField:
    return PastDateField(
        noun=noun,
        earliest=EARLIEST_EVENT,
        required=False,
        label=f"If yes: {noun.lower()}",
        help_text="For example, 3 11 2026. An approximate date is fine.",
    )


class ScreeningForm(forms.Form):
    """The health questionnaire (version rules.QUESTIONNAIRE_VERSION)."""

    pregnant = yes_no("Are you pregnant, or could you be?")
    fragile_bones = yes_no("Have you been told you have osteoporosis, osteopenia or fragile bones?")
    spinal_cord_injury = yes_no("Have you ever had a spinal cord injury?")
    blood_clots_or_thinners = yes_no(
        "Have you had a blood clot (such as a DVT), or do you take blood thinners?",
        "Blood thinners include warfarin, apixaban and rivaroxaban.",
    )
    serious_heart_condition = yes_no(
        "Do you have a serious heart condition?",
        "For example heart failure, a heart attack in the last year, or a pacemaker.",
    )
    blood_pressure = forms.TypedChoiceField(
        label="Do you have high blood pressure?",
        choices=[
            (rules.BloodPressure.NORMAL.value, "No"),
            (rules.BloodPressure.CONTROLLED.value, "Yes, and it is under control"),
            (rules.BloodPressure.UNCONTROLLED.value, "Yes, and it is not under control"),
        ],
        coerce=rules.BloodPressure,
        widget=forms.RadioSelect,
        error_messages={"required": "Answer: do you have high blood pressure?"},
    )
    disc_disorder = yes_no(
        "Have you been told you have a slipped, bulging or herniated disc, "
        "or another problem with a disc in your spine?"
    )
    back_pain_under_care = yes_no(
        "Is a doctor or physiotherapist treating you for back pain at the moment?"
    )
    recent_surgery = yes_no("Have you had surgery in the last 6 months?")
    surgery_on = event_date("Date of the surgery")
    recent_fracture = yes_no("Have you broken a bone in the last 6 months?")
    fracture_on = event_date("Date of the fracture")
    recent_muscle_tear = yes_no("Have you torn a muscle in the last 6 months?")
    muscle_tear_on = event_date("Date of the muscle tear")
    other_conditions = forms.CharField(
        label="Anything else about your health we should know? (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Conditions, recent illness, medication. Leave empty if there is nothing.",
    )
    pressure_preference = forms.TypedChoiceField(
        label="What pressure do you like?",
        choices=[
            (rules.Pressure.LIGHT.value, "Light"),
            (rules.Pressure.MEDIUM.value, "Medium"),
            (rules.Pressure.FIRM.value, "Firm"),
        ],
        coerce=rules.Pressure,
        widget=forms.RadioSelect,
        initial=rules.Pressure.MEDIUM.value,
        error_messages={"required": "Choose the pressure you like."},
    )
    areas_to_avoid = forms.CharField(
        label="Areas your therapist should avoid (optional)",
        required=False,
        max_length=200,
        help_text="For example: left shoulder, lower back.",
    )
    consent = forms.BooleanField(
        label="I agree that the spa stores these answers to decide whether back-walking is safe "
        "for me. Only I, the staff who review screenings, and my therapist (a short summary, "
        "before my appointment) can see them. I can ask the spa to delete them at any time.",
        error_messages={"required": "Tick the box to agree to us storing your health answers."},
    )
    signature_name = forms.CharField(
        label="Type your full name to sign",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="This confirms that your answers are true to the best of your knowledge.",
    )

    EVENTS = [
        ("recent_surgery", "surgery_on", "the surgery"),
        ("recent_fracture", "fracture_on", "the fracture"),
        ("recent_muscle_tear", "muscle_tear_on", "the muscle tear"),
    ]

    def clean(self) -> dict:
        cleaned = super().clean()
        for flag, date_field, noun in self.EVENTS:
            if cleaned.get(flag) and not cleaned.get(date_field) and date_field not in self.errors:
                self.add_error(date_field, f"Enter the date of {noun}.")
            if cleaned.get(flag) is False:
                cleaned[date_field] = None
        return cleaned

    def answers(self) -> rules.Answers:
        data = self.cleaned_data
        return rules.Answers(
            pregnant=data["pregnant"],
            fragile_bones=data["fragile_bones"],
            spinal_cord_injury=data["spinal_cord_injury"],
            blood_clots_or_thinners=data["blood_clots_or_thinners"],
            serious_heart_condition=data["serious_heart_condition"],
            blood_pressure=data["blood_pressure"],
            disc_disorder=data["disc_disorder"],
            back_pain_under_care=data["back_pain_under_care"],
            surgery_on=data["surgery_on"],
            fracture_on=data["fracture_on"],
            muscle_tear_on=data["muscle_tear_on"],
            other_conditions=data["other_conditions"].strip(),
            pressure_preference=data["pressure_preference"],
            areas_to_avoid=data["areas_to_avoid"].strip(),
        )
