"""The lists of therapists a treatment's pages show: the choices of a therapist picker and
the short biographies. A chain has hundreds of therapists for a treatment, and a template
loop over them cost a page several milliseconds for each list; joined here they cost a
fraction of that. The markup is the one the templates had."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from appointments.models import Therapist, Treatment

register = template.Library()


@register.simple_tag
def therapist_options(therapists: list[Therapist], chosen: Therapist | None) -> SafeString:
    """An <option> for each therapist, the chosen one selected."""
    chosen_pk = chosen.pk if chosen else None
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((t.pk, " selected" if t.pk == chosen_pk else "", t.display_name) for t in therapists),
    )


@register.simple_tag
def therapist_bios(therapists: list[Therapist], treatment: Treatment) -> SafeString:
    """A <dt> name and <dd> biography for each therapist."""
    fallback = format_html("One of our qualified therapists for {}.", treatment.name)
    return format_html_join(
        "\n",
        "<dt>{}</dt><dd>{}</dd>",
        (
            (t.display_name, linebreaksbr(t.bio, autoescape=True) if t.bio else fallback)
            for t in therapists
        ),
    )
