import datetime

from django import forms
from django.utils import timezone

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
    """The health questionnaire (version rules.QUESTIONNAIRE_VERSION), in the order of
    rules.Answers. Version 1's questions keep their wording: the admin shows a version 1
    screening with these labels."""

    # Pregnancy and today
    pregnant = yes_no("Are you pregnant, or could you be?")
    unwell = yes_no(
        "Do you have a fever or an infection, or feel unwell, today?",
        "For example flu, a cold with a temperature, or a stomach bug.",
    )
    # Spine and bones
    fragile_bones = yes_no("Have you been told you have osteoporosis, osteopenia or fragile bones?")
    spinal_cord_injury = yes_no("Have you ever had a spinal cord injury?")
    disc_disorder = yes_no(
        "Have you been told you have a slipped, bulging or herniated disc, "
        "or another problem with a disc in your spine?"
    )
    spine_condition = yes_no(
        "Have you been told you have scoliosis (a curved spine), spondylolisthesis "
        "(a slipped vertebra) or spinal stenosis?"
    )
    spinal_surgery = yes_no(
        "Have you ever had an operation on your spine?",
        "Including a fusion, rods or screws, however long ago.",
    )
    spine_or_rib_fracture = yes_no(
        "Have you ever broken a bone in your spine (a vertebra) or a rib?",
        "However long ago.",
    )
    back_pain_under_care = yes_no(
        "Is a doctor or physiotherapist treating you for back pain at the moment?"
    )
    # Heart and circulation
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
    aortic_aneurysm = yes_no(
        "Have you been told you have an aortic aneurysm?",
        "A swelling of the main blood vessel from the heart, in the chest or belly.",
    )
    varicose_veins = yes_no("Do you have varicose veins?")
    # Joints, skin and nerves
    joint_replacement = yes_no("Do you have a joint replacement, such as a new hip or knee?")
    hypermobility = yes_no(
        "Are your joints hypermobile (very flexible, or they dislocate easily)?",
        "Including Ehlers-Danlos syndrome.",
    )
    inflammatory_arthritis = yes_no(
        "Do you have rheumatoid arthritis, ankylosing spondylitis or another inflammatory "
        "arthritis?"
    )
    skin_condition = yes_no(
        "Do you have a skin condition, an open wound or an infection on your back or legs?",
        "For example a rash, flaring eczema, a cut, a burn or a boil.",
    )
    reduced_feeling = yes_no(
        "Is the feeling in your back, legs or feet reduced?",
        "For example numbness from diabetes or neuropathy.",
    )
    # Other conditions and medication
    cancer = yes_no("Do you have cancer, or have you been treated for cancer in the last year?")
    kidney_disease = yes_no("Do you have kidney disease?")
    hernia = yes_no(
        "Do you have a hernia that has not been repaired?",
        "For example in your groin, belly button or stomach wall.",
    )
    long_term_steroids = yes_no(
        "In the last year, have you taken steroid tablets (such as prednisolone) "
        "for 3 months or more?",
        "Steroid inhalers, nose sprays and creams do not count.",
    )
    # Recent surgery, injuries and childbirth
    recent_surgery = yes_no("Have you had surgery in the last 6 months?")
    surgery_on = event_date("Date of the surgery")
    recent_fracture = yes_no("Have you broken a bone in the last 6 months?")
    fracture_on = event_date("Date of the fracture")
    recent_muscle_tear = yes_no("Have you torn a muscle in the last 6 months?")
    muscle_tear_on = event_date("Date of the muscle tear")
    recent_birth = yes_no("Have you given birth in the last 6 months?")
    gave_birth_on = event_date("Date of the birth")
    # Anything else
    other_conditions = forms.CharField(
        label="Anything else about your health we should know? (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Conditions, recent illness, medication. Leave empty if there is nothing. "
        "Our staff read everything you write here before you can book.",
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
        help_text="For example: left shoulder, lower back. Our staff read this before you "
        "can book.",
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
        ("recent_birth", "gave_birth_on", "the birth"),
    ]
    # Answers that are dates but asked as a yes/no question: answer -> that question.
    DATED_ANSWERS = {date_field: flag for flag, date_field, _ in EVENTS} | {"unwell_on": "unwell"}

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
        dated = {
            "unwell_on": timezone.localdate() if data["unwell"] else None,
            **{date_field: data[date_field] for _, date_field, _ in self.EVENTS},
        }
        free_text = {name: data[name].strip() for name in ("other_conditions", "areas_to_avoid")}
        asked = {
            name: data[name]
            for name in rules.ANSWER_NAMES[rules.QUESTIONNAIRE_VERSION]
            if name not in dated and name not in free_text
        }
        return rules.Answers(**asked, **dated, **free_text)

    @classmethod
    def question_for(cls, answer: str) -> str:
        """The question the form asks for one rules.Answers field (for a date, its yes/no
        question)."""
        return str(cls.base_fields[cls.DATED_ANSWERS.get(answer, answer)].label)

    @classmethod
    def answer_text(cls, answer: str, value: object) -> str:
        """One stored answer as the client gave it, in words (reviewers' page, the export)."""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if answer in cls.DATED_ANSWERS:
            # Asked as yes/no, then the date: no date means they answered no.
            return f"Yes, on {value:%-d %B %Y}" if isinstance(value, datetime.date) else "No"
        if value == "":
            return "\u2013"
        for choice, label in getattr(cls.base_fields[answer], "choices", []):
            if choice == value:
                return str(label)
        return str(value)
