"""Admin lists over tables that grow with the spa's history (appointments, clients,
screenings, access records...): each page costs the same with five years behind it as
with five weeks.

Django's list does three things that read every row of such a table: it counts all of
them (twice: the filtered list and the whole table), it offers "Show counts" (a count per
filter choice, each one a scan), and its search ORs `icontains` over joined tables, which
no index can answer. `LongListMixin` counts up to a limit, never shows facet counts, and
searches each related table on its own (its trigram indexes answer) before the list.

Django's date bar lists the years, months or days that have rows: a DISTINCT over every
row of the period (all five years, at first). `date_bar` offers every period between the
first and the last row instead, found with one MIN/MAX that the date's index answers.
"""

import datetime
from html import escape

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import (
    F,
    Max,
    Min,
    OuterRef,
    Q,
    TextField,
    Value,
)
from django.db.models.functions import Concat
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst, smart_split, unescape_string_literal
from django.utils.translation import gettext as _

from .row_checks import on_each_row

# Pages past this many rows are not offered: narrow the list with a filter or a search.
# Counting ten thousand index entries takes a few milliseconds; counting two million
# took hundreds.
COUNT_LIMIT = 10_000

# A search whose related rows (clients, say) are this few is sent as a list of ids:
# PostgreSQL knows how many they are, and can OR them with the list's own columns'
# indexes. More than this (a word in one client's name in twenty: "an" has thousands of a
# chain's clients), and the matches are common: the list's rows are checked one by one in
# the list's order instead, and a page fills after a few hundred rows.
LISTED_MATCHES = 5_000

# Such a search's count stops at this many (each row counted is a check), where a list's
# stops at COUNT_LIMIT.
BROAD_SEARCH_COUNT_LIMIT = 1_000


def escaped(value) -> str:
    """Django's conditional_escape (a safe string as it is, anything else escaped as
    django.utils.html.escape does: the standard library's escape gives the same entities),
    without format_html's wrappers around each value: a list's hundreds of options and
    rows paid for them one by one."""
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


class LimitedCountPaginator(Paginator):
    """Counts the rows up to `count_limit` (COUNT_LIMIT unless given: one query on at most
    that many index entries); `is_limited` says there are more."""

    def __init__(self, *args, count_limit: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_limit = COUNT_LIMIT if count_limit is None else count_limit

    @cached_property
    def count(self) -> int:
        # In no order: PostgreSQL counts whichever rows it finds first.
        counted = self.object_list.order_by()[: self.count_limit + 1].count()
        self.is_limited = counted > self.count_limit
        return min(counted, self.count_limit)

    is_limited = False

    @property
    def limit(self) -> str:
        return f"{self.count_limit:,}"


class DropdownFilter(admin.RelatedFieldListFilter):
    """A filter by a long list of related rows (a chain's 430 therapists, 180 rooms) as one
    drop-down in a form. Django's filter is a link per choice, each with the list's whole
    query string worked out again: a few hundred of them on every page of the list."""

    template = "admin/dropdown_filter.html"
    # The field a related row is named by (its str()): the choices then come as (id, name)
    # from those two columns. Whole model instances, as Django reads them, cost 7.2 ms
    # against 1.3 for a chain's 430 therapists on a slow machine. None: Django's way.
    label_field: str | None = None

    @classmethod
    def named_by(cls, label_field: str) -> type["DropdownFilter"]:
        """This filter, for a related model whose rows are named by `label_field`."""
        return type(f"{cls.__name__}By_{label_field}", (cls,), {"label_field": label_field})

    def field_choices(self, field, request, model_admin):
        if self.label_field is None:
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        rows = field.related_model._default_manager.complex_filter(field.get_limit_choices_to())
        if ordering:
            rows = rows.order_by(*ordering)
        return list(rows.values_list("pk", self.label_field))

    def choices(self, changelist):
        # The list's other parameters ride along in the form, as hidden fields.
        self.kept_parameters = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in self.expected_parameters()
        ]
        chosen = self.lookup_val or []
        # The options as one piece of HTML: a template loop over hundreds costs more.
        self.options = mark_safe(  # noqa: S308 - every value is escaped here
            "".join(
                f'<option value="{escaped(pk_val)}"{" selected" if str(pk_val) in chosen else ""}>'
                f"{escaped(val)}</option>"
                for pk_val, val in self.lookup_choices
            )
        )
        yield {
            "selected": not chosen and not self.lookup_val_isnull,
            "query_string": changelist.get_query_string(
                remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]
            ),
            "display": _("All"),
        }


class SortableByChangeList(ChangeList):
    """Orders only by the columns in `sortable_by` (Django only hides the others' links:
    `?o=` in an address still sorts by any column)."""

    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


def search_words(term: str) -> list[str]:
    """The words of a search as Django's admin splits them ("quoted phrases" stay whole)."""
    words = []
    for bit in smart_split(term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def _matching(model, paths: list[str], words: list[str], column: str) -> list | None:
    """`column` of `model`'s rows with every word in one of `paths` (icontains), as a list;
    None when more than LISTED_MATCHES rows have the longest word (the list then checks its
    own rows one by one: `_each_row_matching`).

    The longest word's rows (usually the fewest: "Lindqvist" rather than "Ana", which a
    chain has thousands of) come from a UNION ALL of one query a path, so that each path's
    own trigram index answers it, read no further than LISTED_MATCHES + 1 rows a path: a
    common word stops as soon as that many are found, where a UNION first gathered every
    one (a scan of every client for a word of two letters, which no trigram serves). The
    other words are then tested on those rows alone.
    """
    longest, *others = sorted(words, key=len, reverse=True)
    first, *more = [
        model._default_manager.filter(**{f"{path}__icontains": longest})
        .order_by()
        .values_list("pk" if others else column, flat=True)
        for path in paths
    ]
    found = list(dict.fromkeys(first.union(*more, all=True)[: (LISTED_MATCHES + 1) * len(paths)]))
    if len(found) > LISTED_MATCHES:
        return None
    if not others:
        return found
    # The other words on the listed rows: each column through an expression no index
    # covers (the column and ''), so PostgreSQL tests the rows it has instead of searching
    # the table again through the trigram indexes. icontains as Django's own: the same rows.
    plain = {
        f"_plain_{i}": Concat(F(path), Value(""), output_field=TextField())
        for i, path in enumerate(paths)
    }
    matches = model._default_manager.order_by().filter(pk__in=found).alias(**plain)
    for word in others:
        matches = matches.filter(
            Q.create([(f"{name}__icontains", word) for name in plain], connector=Q.OR)
        )
    return list(matches.values_list(column, flat=True))


def _each_row_matching(model, paths: list[str], words: list[str], **related_to) -> Q:
    """Whether the list's row's related row (`related_to`: how it is found from the row) has
    every word in one of `paths`, asked of each row as PostgreSQL reads the list
    (spa_booking.row_checks). For a search too common to list; its count stops early too
    (BROAD_SEARCH_COUNT_LIMIT)."""
    related = model._default_manager.filter(**related_to).order_by()
    for word in words:
        related = related.filter(
            Q.create([(f"{path}__icontains", word) for path in paths], connector=Q.OR)
        )
    return on_each_row(related)


class ActionCheckboxMixin:
    """Django's checkbox for the actions on each row, the same markup, written out instead
    of rendering a form widget through the template engine for every row: that was a
    third of a list's time (100 rows, 60 ms of a 160 ms page, at a chain's size)."""

    def action_checkbox(self, obj) -> SafeString:
        label = _("Select this object for an action - {}").format(escaped(str(obj)))
        return mark_safe(  # noqa: S308 - every value is escaped here
            f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}" '
            f'value="{escaped(obj.pk)}" class="action-select" aria-label="{label}">'
        )


class LongListMixin(ActionCheckboxMixin):
    """For the ModelAdmin of a table that grows with history.

    - 50 rows to a page (list_per_page), where Django shows 100.
    - Counts up to COUNT_LIMIT ("more than 10,000"), and never the whole table again.
    - No "Show counts" (facets): each choice's count would scan the table.
    - Orders only by `sortable_by` (set it to the columns an index orders by).
    - A date bar (`date_hierarchy`) from the first row to the last (`date_bar`).
    - Search: the same rows as Django's (every word in one of `search_fields`,
      icontains), found another way. Each related table the search fields go through
      (e.g. `client__...`) is searched first, on its own, for the ids of its matching
      rows; the list is then filtered by those ids, or, when they are more than
      LISTED_MATCHES, each row's related row is checked as the list is read (and the
      count stops at BROAD_SEARCH_COUNT_LIMIT). Only plain field paths (no ^, =, @).
    - `search_min_length`: a search too short for any index of a huge table is refused
      with a message.
    """

    paginator = LimitedCountPaginator
    # Rendering a row costs more than finding it: Django's admin spends about 1 ms of
    # template work on each (its cells, links and escaping), so 100 rows to a page is
    # most of a page's time. 50 is a screenful or two, and the next page is a click.
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_list_template = "admin/long_list_change_list.html"

    def get_changelist(self, request, **kwargs):
        return SortableByChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and changelist.date_hierarchy:
            response.context_data["date_bar"] = date_bar(changelist)
        return response

    # At least this many characters in the longest word of a search, or none is made (0:
    # any). For a table searched through its own trigram indexes that grows by hundreds of
    # thousands of rows (the login log): a shorter word no trigram serves is a read of the
    # whole table, three times a page (its count, its rows, its date bar).
    search_min_length = 0

    def get_search_results(self, request, queryset, search_term):
        words = search_words(search_term)
        if not words:
            return queryset, False
        if max(len(word) for word in words) < self.search_min_length:
            messages.warning(
                request,
                f"Type at least {self.search_min_length} characters of what you are looking "
                f"for: {queryset.model._meta.verbose_name_plural} are too many to read "
                "through for fewer.",
            )
            return queryset.none(), False
        own, related = self._search_paths(queryset.model, self.get_search_fields(request))
        if not own and len(related) == 1:
            # Every field is the same related row's: it matches the whole term, or not.
            ((name, paths),) = related.items()
            match = self._related_match(request, queryset.model, name, paths, words)
            return queryset.filter(match), False
        for word in words:
            match = Q.create([(f"{path}__icontains", word) for path in own], connector=Q.OR)
            for name, paths in related.items():
                match |= self._related_match(request, queryset.model, name, paths, [word])
            queryset = queryset.filter(match)
        return queryset, False

    @staticmethod
    def _search_paths(model, search_fields) -> tuple[list[str], dict[str, list[str]]]:
        """The model's own fields, and the others by the relation they go through."""
        own, related = [], {}
        for path in search_fields:
            first, *rest = path.split("__", 1)
            if rest and model._meta.get_field(first).is_relation:
                related.setdefault(first, []).append(rest[0])
            else:
                own.append(path)
        return own, related

    @staticmethod
    def _related_match(request, model, name: str, paths: list[str], words: list[str]) -> Q:
        field = model._meta.get_field(name)
        if field.concrete:  # a foreign key of ours: the related rows' ids
            column, lookup, related_to = "pk", f"{name}__in", {"pk": OuterRef(name)}
        else:  # a relation pointing at us (a user's client): our ids, from its foreign key
            column = field.field.attname
            lookup, related_to = "pk__in", {column: OuterRef("pk")}
        values = _matching(field.related_model, paths, words, column)
        if values is None:
            request.broad_search = True  # for get_paginator, which Django calls next
            return _each_row_matching(field.related_model, paths, words, **related_to)
        return Q(**{lookup: values})

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        limit = BROAD_SEARCH_COUNT_LIMIT if getattr(request, "broad_search", False) else None
        return self.paginator(
            queryset, per_page, orphans, allow_empty_first_page, count_limit=limit
        )


def date_bar(changelist) -> dict:
    """Django's date bar (`date_hierarchy`), with the periods from the first row of the
    list to its last: one MIN/MAX query, where Django's reads every row of the period."""
    field = changelist.date_hierarchy
    names = {part: f"{field}__{part}" for part in ("year", "month", "day")}

    def link(parts: dict) -> str:
        return changelist.get_query_string(
            {names[part]: value for part, value in parts.items()}, [f"{field}__"]
        )

    # As Django reads them: a month within a year, a day within a month.
    year, month, day = None, None, None
    try:
        year = int(changelist.params[names["year"]])
        month = int(changelist.params[names["month"]])
        day = int(changelist.params[names["day"]])
    except (KeyError, ValueError):
        pass
    if year and month and day:
        shown = datetime.date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link({"year": year, "month": month}),
                "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
        }
    span = _first_and_last(changelist, field)
    if span["first"] is None:
        return {"show": True, "back": None, "choices": []}
    # The list is already narrowed to the chosen year or month, so its first and last
    # rows bound the choices.
    first, last = (_local_date(span[end]) for end in ("first", "last"))
    if not year and first.year == last.year:
        year, month = first.year, (first.month if first.month == last.month else None)
    if year and month:
        return {
            "show": True,
            "back": {"link": link({"year": year}), "title": str(year)},
            "choices": [
                {
                    "link": link({"year": year, "month": month, "day": number}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, month, number), "MONTH_DAY_FORMAT")
                    ),
                }
                for number in range(first.day, last.day + 1)
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({"year": year, "month": number}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, number, 1), "YEAR_MONTH_FORMAT")
                    ),
                }
                for number in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [
            {"link": link({"year": number}), "title": str(number)}
            for number in range(first.year, last.year + 1)
        ],
    }


def _first_and_last(changelist, field: str) -> dict:
    """The list's first and last `field`. MIN/MAX walk the date's index from either end
    until a row matches: at once for a whole list or a filter (most rows match), but
    through the whole table for a search that matches a few rows. Those few (the list has
    counted them: at most COUNT_LIMIT) are read by the search's own indexes instead."""
    searched = bool(changelist.query)
    paginator = getattr(changelist, "paginator", None)
    if searched and paginator is not None and not paginator.is_limited:
        moments = list(
            changelist.queryset.order_by().values_list(field, flat=True)[: COUNT_LIMIT + 1]
        )
        return {"first": min(moments, default=None), "last": max(moments, default=None)}
    return changelist.queryset.aggregate(first=Min(field), last=Max(field))


def _local_date(moment: datetime.date) -> datetime.date:
    if isinstance(moment, datetime.datetime):
        return timezone.localdate(moment)
    return moment
