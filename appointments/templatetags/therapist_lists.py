"""The lists of therapists a treatment's pages show: the choices of a therapist picker and
the short biographies. A chain has hundreds of therapists for a treatment, and a template
loop over them cost a page several milliseconds for each list; joined here they cost a
fraction of that. The markup is the one the templates had, escaped as Django escapes
(the standard library's html.escape gives the same entities, in C: format_html's
per-value escaping and marking safe was most of the lists' cost)."""

from collections.abc import Iterable
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from appointments.models import Therapist, Treatment
from appointments.models.catalogue import ListedTherapist

register = template.Library()


def linebreaksbr(text: str) -> str:
    """Django's linebreaksbr filter with autoescape on, without its per-call wrappers
    (a chain's biographies called it hundreds of times a page): newlines normalised,
    the text escaped, each newline a <br>."""
    return escape(text.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "<br>")


@register.simple_tag
def therapist_options(
    therapists: Iterable[Therapist | ListedTherapist], chosen: Therapist | None
) -> SafeString:
    """An <option> for each therapist, the chosen one selected."""
    chosen_pk = chosen.pk if chosen else None
    return mark_safe(  # noqa: S308 - every value is escaped here
        "".join(
            f'<option value="{t.pk}"{" selected" if t.pk == chosen_pk else ""}>'
            f"{escape(t.display_name)}</option>"
            for t in therapists
        )
    )


@register.simple_tag
def therapist_bios(
    therapists: Iterable[Therapist | ListedTherapist], treatment: Treatment
) -> SafeString:
    """A <dt> name and <dd> biography for each therapist."""
    fallback = f"One of our qualified therapists for {escape(treatment.name)}."
    return mark_safe(  # noqa: S308 - every value is escaped here
        "\n".join(
            f"<dt>{escape(t.display_name)}</dt>"
            f"<dd>{linebreaksbr(t.bio) if t.bio else fallback}</dd>"
            for t in therapists
        )
    )
