"""Indexes for finding clients and listing access records at a chain's size (issue 14).

pg_trgm's GIN indexes answer `LIKE '%word%'`. Django's `icontains` compares
UPPER(column::text), so each index is on UPPER(column): the same expression, or
PostgreSQL would not use it.

- user_email_trgm_idx UPPER(email): the admin's search by email (accounts, clients,
  appointments, screenings, waitlist, access records, via spa_booking.admin_lists), the
  front desk's "find a client" and the admin's client autocomplete.
- client_name_trgm_idx UPPER(full_name), client_phone_trgm_idx UPPER(phone): the same
  searches, by name and by phone number as typed.
- client_phone_digits_trgm_idx regexp_replace(phone, '\\D', '', 'g'): the front desk's
  search by a phone number's digits (appointments.front_desk.clients.find_clients).
- user_staff_idx (email) where is_staff: the accounts admin's staff filter, by email.
- client_birth_date_idx: the admin's and the front desk's search by date of birth.
- client_name_idx: the client admin's list, by name.
- accessrecord_latest_idx (viewed_at, id): the access records' admin list, newest first,
  and its date bar's first and last; accessrecord_kind_idx (kind, viewed_at): the same
  by kind.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models

import clients.models


def trigram_index(expression, name: str):
    return django.contrib.postgres.indexes.GinIndex(
        django.contrib.postgres.indexes.OpClass(expression, name="gin_trgm_ops"), name=name
    )


class Migration(migrations.Migration):
    # CONCURRENTLY: bookings and sign-ups go on while the indexes are built.
    atomic = False

    dependencies = [
        ("clients", "0004_login_record_time_indexes"),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrently(
            model_name="user",
            index=trigram_index(
                django.db.models.functions.text.Upper("email"), "user_email_trgm_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                condition=models.Q(("is_staff", True)), fields=["email"], name="user_staff_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="client",
            index=trigram_index(
                django.db.models.functions.text.Upper("full_name"), "client_name_trgm_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="client",
            index=trigram_index(
                django.db.models.functions.text.Upper("phone"), "client_phone_trgm_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="client",
            index=trigram_index(
                clients.models.Digits(models.F("phone")), "client_phone_digits_trgm_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="client",
            index=models.Index(fields=["date_of_birth"], name="client_birth_date_idx"),
        ),
        AddIndexConcurrently(
            model_name="client",
            index=models.Index(fields=["full_name"], name="client_name_idx"),
        ),
        AddIndexConcurrently(
            model_name="accessrecord",
            index=models.Index(fields=["viewed_at", "id"], name="accessrecord_latest_idx"),
        ),
        AddIndexConcurrently(
            model_name="accessrecord",
            index=models.Index(fields=["kind", "viewed_at"], name="accessrecord_kind_idx"),
        ),
    ]
