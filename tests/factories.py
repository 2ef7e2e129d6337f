"""Test data with sensible, derived defaults."""

import datetime

import factory
from factory.django import DjangoModelFactory, Password

from appointments.models import Equipment, Room, Therapist, Treatment
from clients.models import Client, User

PASSWORD = "a-long-test-passphrase"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = Password(PASSWORD)


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
    slug = factory.LazyAttribute(lambda t: t.name.lower().replace(" ", "-"))
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
