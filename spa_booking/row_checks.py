"""A condition PostgreSQL tests on each row as it reads a list, never by gathering first.

`Exists(...)` becomes a semi-join, which PostgreSQL may answer by gathering every matching
row of the other table first: for a search by a common word ("an"), every one of a chain's
thousands of matching clients, before the first row of the list. A scalar subquery with
LIMIT 1 is kept as a subplan, run for each row in the order the list is read, so a list
whose matches are common fills its page after a few hundred rows.
"""

from django.db.models import BooleanField, Q, QuerySet, Subquery, Value


def on_each_row(related: QuerySet) -> Q:
    """Whether `related` (filtered by an OuterRef to the list's row) has a row, asked of
    each row of the list as it is read."""
    return Q(Subquery(related.values(found=Value(True))[:1], output_field=BooleanField()))
