"""Health data encrypted at rest, by the application, with keys from the environment.

The columns that hold health answers, free text and signatures store a Fernet
token (AES-128-CBC with an HMAC-SHA256, from `cryptography`) instead of the
text, so a database dump, a backup or a stray SELECT holds nothing readable.
The keys are `settings.SPA_ENCRYPTION_KEYS`, newest first: the first one
encrypts, any of them decrypts. To rotate, put a new key first, run
`manage.py reencrypt`, then drop the old key.

What the database can no longer do with these columns is search, compare or
index them; so the fields refuse every lookup except "is it empty" (and
NULL). An empty text is stored as '' and not encrypted: the constraints "a
decline says why", "a screening is signed" and "a stopped session says why"
need to see emptiness, and emptiness is all it reveals.

Nothing here puts a value in an error message, and the functions that hold
plaintext hide their local variables from error reports.
"""

import json
from collections.abc import Callable
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.lookups import Exact
from django.views.decorators.debug import sensitive_variables

# Transaction-local (set_config(..., true)): while it is 'on', the immutability
# trigger on screening_healthscreening lets the encrypted columns take a new
# ciphertext of the same answers. Only rewrite_stored_values() sets it.
REENCRYPTING = "spa.reencrypting"


class DecryptionError(Exception):
    """A stored token that no configured key opens (or that is not a token at all)."""


@cache
def _keys() -> tuple[Fernet, MultiFernet]:
    fernets = [Fernet(key) for key in settings.SPA_ENCRYPTION_KEYS]
    return fernets[0], MultiFernet(fernets)


def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting == "SPA_ENCRYPTION_KEYS":
        _keys.cache_clear()


setting_changed.connect(_forget_keys)


@sensitive_variables()
def encrypt(text: str) -> str:
    return _keys()[1].encrypt(text.encode()).decode()


@sensitive_variables()
def decrypt(token: str, *, what: str = "A stored value") -> str:
    try:
        return _keys()[1].decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            f"{what} could not be decrypted with any key in SPA_ENCRYPTION_KEYS: "
            "was the key that encrypted it removed before `manage.py reencrypt` finished?"
        ) from None


def rotated(token: str) -> str | None:
    """The token encrypted under the newest key, or None when it already is."""
    newest, every = _keys()
    try:
        newest.decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return every.rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored value could not be decrypted with any key in SPA_ENCRYPTION_KEYS, "
            "so it cannot be re-encrypted: was its key removed too early?"
        ) from None


class _EmptyOrNot(Exact):
    """The one comparison an encrypted column still supports: with ''."""

    def get_prep_lookup(self):
        if self.rhs != "":
            raise FieldError(
                f"{self.lhs.output_field.name} is encrypted: it can only be compared with ''."
            )
        return super().get_prep_lookup()


class _Encrypted:
    """No lookups or transforms on ciphertext, which would silently match nothing."""

    def get_lookup(self, lookup_name: str):
        if lookup_name == "exact":
            return _EmptyOrNot
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str):
        return None

    def _what(self) -> str:
        return f"A stored {self.model.__name__}.{self.name}"


class EncryptedTextField(_Encrypted, models.TextField):
    """Text stored as a Fernet token in a text column ('' stays '')."""

    description = "Text, encrypted at rest"

    @sensitive_variables()
    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value, what=self._what())

    @sensitive_variables()
    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


class EncryptedJSONField(_Encrypted, models.Field):
    """A JSON value (a dict or a list) stored as a Fernet token in a text column."""

    description = "JSON, encrypted at rest"
    empty_strings_allowed = False

    def get_internal_type(self) -> str:
        return "TextField"

    @sensitive_variables()
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return json.loads(decrypt(value, what=self._what()))
        except ValueError:  # the error would carry the decrypted text
            raise DecryptionError(f"{self._what()} did not decrypt to JSON.") from None

    @sensitive_variables()
    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value))

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        return self.value_from_object(obj)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


def encrypted_columns() -> list[tuple[str, list[str]]]:
    """Every table with encrypted columns, and those columns: what reencrypt walks."""
    tables = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        columns = [
            field.column
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField | EncryptedJSONField)
        ]
        if columns:
            tables.append((model._meta.db_table, columns))
    return tables


def rewrite_stored_values(
    *,
    table: str,
    columns: list[str],
    change: Callable[[str], str | None],
    batch_size: int = 500,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[int, int]:
    """Pass every stored value of the columns through change (None: leave it), in batches.

    For the migrations that encrypt (and decrypt, backwards) and for reencrypt. Works
    on what is stored, past the fields. NULL and '' are left alone. Each batch is a
    transaction (a savepoint inside a migration's) with its rows locked, so a review
    decided meanwhile is not overwritten with the old note re-encrypted. Returns how
    many values were changed and how many were left as they were.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    changed = unchanged = 0
    last = 0
    while True:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {', '.join(map(quote, columns))} FROM {quote(table)} "
                "WHERE id > %s ORDER BY id LIMIT %s FOR UPDATE",
                [last, batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed, unchanged
            cursor.execute("SELECT set_config(%s, 'on', true)", [REENCRYPTING])
            for pk, *values in rows:
                new = {}
                for column, value in zip(columns, values, strict=True):
                    if not value:
                        continue
                    result = change(value)
                    if result is None:
                        unchanged += 1
                    else:
                        new[column] = result
                if new:
                    changed += len(new)
                    assignments = ", ".join(f"{quote(column)} = %s" for column in new)
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {assignments} WHERE id = %s",
                        [*new.values(), pk],
                    )
            cursor.execute("SELECT set_config(%s, '', true)", [REENCRYPTING])
            last = rows[-1][0]
