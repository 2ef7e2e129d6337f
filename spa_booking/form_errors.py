"""Template filters for the error summary at the top of every form
(templates/includes/error_summary.html, the GOV.UK pattern): each error links to its field."""

from django import forms, template

register = template.Library()


@register.filter
def first_input_id(field: forms.BoundField) -> str:
    """The id of the field's first box: the field itself, a radio group's first radio, a
    date's day box. A link to it takes the person to the question to fix."""
    widget = field.field.widget
    if isinstance(widget, forms.MultiWidget | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return field.id_for_label
