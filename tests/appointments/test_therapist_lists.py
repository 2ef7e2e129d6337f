"""The therapist picker and biographies of a treatment's pages (appointments.templatetags
.therapist_lists): the markup a template loop with Django's filters gives, from light rows."""

import pytest
from django.template import Context, Template

from appointments.models import Qualification, Therapist
from appointments.templatetags.therapist_lists import linebreaksbr
from tests.factories import TherapistFactory, TreatmentFactory

pytestmark = pytest.mark.django_db

AWKWARD_TEXTS = [
    "",
    "Ten years of Ashiatsu.",
    "Line one\nline two",
    "Windows\r\nline\rand old Mac",
    "<script>alert('x')</script> & \"quotes\"",
    "Trailing newline\n",
    "Tom & Jerry's <b>bold</b>\r\n\r\nParagraph",
]

# The template loops the tags replaced (templates/appointments/_therapist_picker.html and
# _therapist_bios.html before the tags), with Django's own filters.
OPTIONS_LOOP = Template(
    "{% for t in therapists %}"
    '<option value="{{ t.pk }}"{% if t.pk == chosen.pk %} selected{% endif %}>'
    "{{ t.display_name }}</option>"
    "{% endfor %}"
)
BIOS_LOOP = Template(
    "{% for t in therapists %}"
    "<dt>{{ t.display_name }}</dt>"
    "<dd>{% if t.bio %}{{ t.bio|linebreaksbr }}{% else %}"
    "One of our qualified therapists for {{ treatment.name }}.{% endif %}</dd>"
    "{% if not forloop.last %}\n{% endif %}"
    "{% endfor %}"
)
TAGS = Template(
    "{% load therapist_lists %}{% therapist_options therapists chosen %}|"
    "{% therapist_bios therapists treatment %}"
)


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_linebreaksbr_is_djangos_filter(text):
    assert linebreaksbr(text) == Template("{{ text|linebreaksbr }}").render(Context({"text": text}))


def test_listed_are_the_active_therapists_by_name_with_what_the_lists_show():
    treatment = TreatmentFactory(name="Ashiatsu & more")
    for name in ["Zoë", "Ann <b>", "Bea", "Ann <b>"]:
        Qualification.objects.create(
            therapist=TherapistFactory(display_name=name), treatment=treatment
        )
    gone = TherapistFactory(display_name="Aaron", is_active=False)
    Qualification.objects.create(therapist=gone, treatment=treatment)

    listed = treatment.therapists.listed()

    expected = Therapist.objects.filter(treatments=treatment, is_active=True).order_by(
        "display_name", "pk"
    )
    assert [(t.pk, t.display_name, t.bio) for t in listed] == [
        (t.pk, t.display_name, t.bio) for t in expected
    ]
    assert gone.pk not in {t.pk for t in listed}


def test_the_tags_write_what_the_template_loops_wrote():
    treatment = TreatmentFactory(name="Ashiatsu & <more>")
    for index, text in enumerate(AWKWARD_TEXTS):
        therapist = TherapistFactory(display_name=f"O'Neil & <{index}>", bio=text)
        Qualification.objects.create(therapist=therapist, treatment=treatment)
    chosen = Therapist.objects.order_by("pk")[2]

    for therapists in (treatment.therapists.listed(), list(treatment.therapists.active())):
        context = {"therapists": therapists, "chosen": chosen, "treatment": treatment}
        expected = f"{OPTIONS_LOOP.render(Context(context))}|{BIOS_LOOP.render(Context(context))}"
        assert TAGS.render(Context(context)) == expected
    assert f'value="{chosen.pk}" selected' in expected
