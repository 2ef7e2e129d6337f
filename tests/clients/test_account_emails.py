"""The outbox's account emails: PostgreSQL keeps them about an account, and only them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from appointments.models import ACCOUNT_KINDS, Appointment, Notice
from appointments.services import book_appointment
from tests.clients.emails import emails_to
from tests.factories import ClientFactory
from tests.scheduling import TOMORROW, at, open_spa


@pytest.fixture
def appointment(client_account) -> Appointment:
    spa = open_spa()
    return book_appointment(client=client_account, treatment=spa.treatment, start=at(TOMORROW, 10))


def refused(notice: Notice, constraint: str) -> None:
    [rule] = [c for c in Notice._meta.constraints if c.name == constraint]
    with pytest.raises(ValidationError) as error:
        notice.validate_constraints()
    assert error.value.messages == [rule.violation_error_message]
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        notice.save()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ACCOUNT_KINDS)
def test_the_database_accepts_an_account_email_about_an_account(kind, client_account):
    notice = Notice(kind=kind, user=client_account.user, revision=0)

    notice.validate_constraints()
    notice.save()

    assert Notice.objects.get().user == client_account.user


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ACCOUNT_KINDS)
def test_the_database_refuses_an_account_email_about_an_appointment(kind, appointment):
    refused(
        Notice(kind=kind, appointment=appointment, revision=9),
        "appointments_notice_account_email_about_an_account",
    )


@pytest.mark.django_db
def test_the_database_refuses_appointment_news_about_an_account(client_account):
    refused(
        Notice(kind="confirmation", user=client_account.user, revision=0),
        "appointments_notice_account_email_about_an_account",
    )


@pytest.mark.django_db
def test_the_database_refuses_an_account_email_about_an_appointment_as_well(
    client_account, appointment
):
    refused(
        Notice(
            kind="password_reset", user=client_account.user, appointment=appointment, revision=9
        ),
        "appointments_notice_appointment_or_screening",
    )


@pytest.mark.django_db
def test_an_account_email_is_not_old_news_of_another(client_account):
    for _ in range(2):
        Notice.objects.create(kind="password_reset", user=client_account.user, revision=0)

    assert len(emails_to("ana@example.com")) == 2


@pytest.mark.django_db
def test_no_sign_up_link_for_an_account_finished_before_it_left():
    client = ClientFactory(user__email="bea@example.com")  # active
    Notice.objects.create(kind="sign_up", user=client.user, revision=0)

    assert emails_to("bea@example.com") == []
    assert Notice.objects.get().sent_at is not None
