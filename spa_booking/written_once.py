"""The booking path's statements, written once per process instead of on every booking.

Every booking looks up its treatment by slug, its therapist by id and the client's current
screening, and writes one appointment. Building each of these statements cost Django about
twice what running it cost PostgreSQL (0.6 ms against 0.3 for the therapist, in a chain's
booking POST), and a booking is a dozen statements:

- a Lookup has the ORM write its queryset's SQL once, for a stand-in value, and runs that
  SQL with the real value through Manager.raw: the same statement, the same columns, the
  same model instances (deferred fields included);
- an Insert writes a model's INSERT of all its columns once, and saves a new instance with
  the values its fields prepare for the database, as Model.save() does; or many rows that
  differ in one column (the access audit's row for each client a page showed) in one
  statement, where bulk_create would build and prepare a model instance for each.
"""

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault

M = TypeVar("M", bound=models.Model)


class Lookup(Generic[M]):
    """`queryset(value)` narrowed to its first row, without building it each time.

    `stand_in` is a value of the right type that the queryset's other parameters never
    equal: it marks where the value goes in the SQL the ORM wrote.
    """

    def __init__(self, queryset: Callable[[Any], "models.QuerySet[M]"], stand_in: Any) -> None:
        self._queryset = queryset
        self._stand_in = stand_in

    @cached_property
    def _written(self) -> tuple["type[M]", str, list, int]:
        queryset = self._queryset(self._stand_in)[:1]
        sql, params = queryset.query.sql_with_params()
        params = list(params)
        if params.count(self._stand_in) != 1:
            raise ValueError(f"The stand-in {self._stand_in!r} is not one parameter of {sql}")
        return queryset.model, sql, params, params.index(self._stand_in)

    def first(self, value: Any) -> M | None:
        model, sql, params, position = self._written
        params = params.copy()
        params[position] = value
        return next(iter(model.objects.raw(sql, params)), None)


class Insert(Generic[M]):
    """Save new instances of `model` with one INSERT of every column but the primary key.

    What Model.save() does for a new instance without signals or inheritance: each field
    prepares its value (pre_save, then get_db_prep_save), and the row's id comes back.
    """

    def __init__(self, model: "type[M]") -> None:
        self.model = model

    @cached_property
    def _written(self) -> tuple[list[models.Field], str]:
        fields = [field for field in self.model._meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(self.model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"RETURNING {quote(self.model._meta.pk.column)}"
        )
        return fields, sql

    def save(self, instance: M) -> M:
        fields, sql = self._written
        with connection.cursor() as cursor:
            cursor.execute(sql, self._values(instance, fields))
            instance.pk = cursor.fetchone()[0]
        instance._state.adding = False
        instance._state.db = connection.alias
        return instance

    def save_each(self, instance: M, field_name: str, values: Iterable[Any]) -> None:
        """New rows, one for each of `values` in order: `instance`'s row with the field
        `field_name` set to the value. One INSERT ... SELECT over unnest(), however many
        rows; `instance` itself is not saved, and no ids come back."""
        fields, _ = self._written
        varying = self.model._meta.get_field(field_name)
        prepared = [varying.get_db_prep_save(value, connection) for value in values]
        if not prepared:
            return
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(self.model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"SELECT {', '.join('given.value' if field is varying else '%s' for field in fields)} "
            f"FROM unnest(%s::{varying.db_type(connection)}[]) AS given(value)"
        )
        others = [field for field in fields if field is not varying]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self._values(instance, others), prepared])

    @staticmethod
    def _values(instance: M, fields: list[models.Field]) -> list[Any]:
        """What each field prepares for the database from a new instance (Model.save's)."""
        values = []
        for field in fields:
            value = field.pre_save(instance, add=True)
            if isinstance(value, DatabaseDefault):  # a db_default the instance left unset
                raise ValueError(f"Set {field.name} on the instance; Insert writes every column.")
            values.append(field.get_db_prep_save(value, connection))
        return values
