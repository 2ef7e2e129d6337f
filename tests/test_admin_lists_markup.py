"""The admin lists' hand-written markup (spa_booking/admin_lists.py) is Django's own: the
drop-down filter's options as format_html_join wrote them, each row's action checkbox as
format_html wrote it, for values that need escaping and values already safe."""

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from appointments.models import Appointment
from spa_booking.admin_lists import ActionCheckboxMixin, DropdownFilter, escaped
from tests.factories import RoomFactory, TherapistFactory

AWKWARD = ["Ana", "O'Neil & Sons", '<script>alert("x")</script>', "Zoë", mark_safe("<b>safe</b>")]


class _Shown:
    def __init__(self, pk, text):
        self.pk, self.text = pk, text

    def __str__(self):
        return self.text


class _ChangeList:
    params = {"status": "confirmed", "therapist__id__exact": "2"}

    def get_query_string(self, remove):
        return "?status=confirmed"


def _dropdown(chosen: list[str]) -> DropdownFilter:
    spec = DropdownFilter.__new__(DropdownFilter)  # the choices, without a request to build it
    spec.lookup_kwarg, spec.lookup_kwarg_isnull = "therapist__id__exact", "therapist__isnull"
    spec.lookup_val, spec.lookup_val_isnull = chosen, None
    spec.lookup_choices = [(pk, text) for pk, text in enumerate(AWKWARD, start=1)]
    return spec


@pytest.mark.parametrize("value", [*AWKWARD, 7, "a\nb"])
def test_escaped_is_conditional_escape(value):
    assert escaped(value) == format_html("{}", value)


@pytest.mark.parametrize("chosen", [[], ["2"]])
def test_the_dropdowns_options_are_format_html_joins(chosen):
    spec = _dropdown(chosen)

    (everything,) = spec.choices(_ChangeList())

    assert spec.options == format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((pk, " selected" if str(pk) in chosen else "", text) for pk, text in spec.lookup_choices),
    )
    assert everything["selected"] == (not chosen)
    assert spec.kept_parameters == [("status", "confirmed")]


@pytest.mark.parametrize("text", AWKWARD)
def test_the_action_checkbox_is_djangos_markup(text):
    shown = _Shown(41, str(text))

    assert ActionCheckboxMixin().action_checkbox(shown) == format_html(
        '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
        helpers.ACTION_CHECKBOX_NAME,
        shown.pk,
        format_html(_("Select this object for an action - {}"), str(shown)),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field_name, label_field", [("therapist", "display_name"), ("room", "name")]
)
def test_a_named_dropdowns_choices_are_djangos(field_name, label_field, rf):
    for name in ["Zoë", "ann", "Ann", "O'Neil & Sons"]:
        TherapistFactory(display_name=name)
        RoomFactory(name=name)
    field = Appointment._meta.get_field(field_name)
    spec = DropdownFilter.named_by(label_field).__new__(DropdownFilter.named_by(label_field))
    model_admin = admin.site._registry[Appointment]

    ours = spec.field_choices(field, rf.get("/"), model_admin)

    assert ours == field.get_choices(include_blank=False, ordering=())
    assert all(isinstance(label, str) for _, label in ours)
