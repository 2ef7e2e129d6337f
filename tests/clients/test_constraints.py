"""Each account invariant holds twice: in model validation and in PostgreSQL itself."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from clients.models import Client, User
from tests.factories import ClientFactory, UserFactory


def insert_user(email: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clients_user"
            " (email, password, is_staff, is_active, is_superuser, date_joined)"
            " VALUES (%s, 'x', false, true, false, now())",
            [email],
        )


@pytest.mark.django_db
def test_email_is_unique_whatever_its_case_in_validation_and_in_the_database():
    UserFactory(email="ana@example.com")

    with pytest.raises(ValidationError, match="already exists"):
        User(email="ANA@Example.com", password="x").full_clean()
    with pytest.raises(IntegrityError, match="clients_user_email_key"), transaction.atomic():
        insert_user("ana@example.com")
    with pytest.raises(IntegrityError, match="clients_user_email_lowercase"), transaction.atomic():
        insert_user("ANA@example.com")


@pytest.mark.django_db
def test_date_of_birth_before_1900_is_refused_in_validation_and_in_the_database():
    client = ClientFactory()
    client.date_of_birth = datetime.date(1899, 12, 31)

    with pytest.raises(ValidationError, match="1900 or later"):
        client.full_clean()
    with (
        pytest.raises(IntegrityError, match="clients_client_date_of_birth_after_1900"),
        transaction.atomic(),
    ):
        Client.objects.filter(pk=client.pk).update(date_of_birth=datetime.date(1899, 12, 31))
