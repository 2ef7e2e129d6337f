"""Test data with sensible, derived defaults."""

import datetime
import functools

import factory
from django.contrib.auth.hashers import make_password
from django.utils.text import slugify
from factory.django import DjangoModelFactory

from appointments.models import Equipment, Room, Therapist, Treatment
from clients.models import Client, User

PASSWORD = "a-long-test-passphrase"


@functools.cache
def _password_hash() -> str:
    return make_password(PASSWORD)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    # Hashed once, not per user: Argon2 is slow on purpose.
    password = factory.LazyFunction(lambda: _password_hash())


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = Client

    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"Client Number{n}")
    phone = "07700 900123"
    date_of_birth = datetime.date(1990, 3, 27)


class EquipmentFactory(DjangoModelFactory):
    class Meta:
        model = Equipment
        django_get_or_create = ["name"]

    name = "Overhead bars"


class TreatmentFactory(DjangoModelFactory):
    class Meta:
        model = Treatment
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Treatment {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name))
    summary = "A treatment."
    description = "A treatment, described."
    duration_minutes = 60
    buffer_minutes = 15
    price = "80.00"


class RoomFactory(DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Room {n}")


class TherapistFactory(DjangoModelFactory):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Therapist {n}")
