"""Health screenings and their decisions are never deleted: PostgreSQL refuses it.

Deleting the newest screening would bring back an older one as the one that
counts. The one way through is erasing the whole client, which names the client
in the transaction-local setting spa.erasing_client.
"""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from psycopg2 import errorcodes

from clients.models import Client, User
from screening.models import HealthScreening, ScreeningDecision
from tests.factories import ClientFactory
from tests.screenings import screen

pytestmark = pytest.mark.django_db

SCREENING_RULE = "screening_healthscreening_never_deleted"
DECISION_RULE = "screening_screeningdecision_never_deleted"


@pytest.fixture
def screening(staff_user) -> HealthScreening:
    """A client's screening with a decision on it (the decision history)."""
    screening = screen(ClientFactory(full_name="Pia Pregnant"), pregnant=True)
    ScreeningDecision.objects.create(
        screening=screening,
        decision=ScreeningDecision.Decision.DECLINED,
        decided_by=staff_user,
        note="Pregnant.",
    )
    return screening


def execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def erasing(client_id: int) -> None:
    """What erasing a client will do first: name it, for this transaction only."""
    execute("SELECT set_config('spa.erasing_client', %s, true)", [str(client_id)])


def assert_refused(delete, rule: str) -> None:
    with pytest.raises(IntegrityError, match=rule) as refused, transaction.atomic():
        delete()
    error = refused.value.__cause__
    assert error.pgcode == errorcodes.RESTRICT_VIOLATION
    assert error.diag.constraint_name == rule


def test_raw_delete_of_a_screening_is_refused(screening):
    assert_refused(
        lambda: execute("DELETE FROM screening_healthscreening WHERE id = %s", [screening.pk]),
        SCREENING_RULE,
    )

    assert HealthScreening.objects.filter(pk=screening.pk).exists()


def test_raw_delete_of_a_decision_is_refused(screening):
    assert_refused(
        lambda: execute(
            "DELETE FROM screening_screeningdecision WHERE screening_id = %s", [screening.pk]
        ),
        DECISION_RULE,
    )

    assert screening.decisions.count() == 1


def test_orm_delete_of_a_screening_is_refused(screening):
    # Django deletes the decisions first (CASCADE), and they are refused first.
    assert_refused(screening.delete, DECISION_RULE)
    assert_refused(HealthScreening.objects.filter(pk=screening.pk).delete, DECISION_RULE)

    assert HealthScreening.objects.filter(pk=screening.pk).exists()
    assert screening.decisions.count() == 1


def test_orm_delete_of_a_screening_without_decisions_is_refused():
    screening = screen(ClientFactory())

    assert_refused(screening.delete, SCREENING_RULE)

    assert HealthScreening.objects.filter(pk=screening.pk).exists()


def test_orm_delete_of_a_decision_is_refused(screening):
    assert_refused(screening.decisions.get().delete, DECISION_RULE)


def test_django_refuses_to_delete_a_client_who_has_screenings(screening):
    with pytest.raises(ProtectedError), transaction.atomic():
        screening.client.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        screening.client.user.delete()  # the user's deletion cascades to the client

    assert Client.objects.filter(pk=screening.client_id).exists()


def test_erasing_the_client_lets_its_screenings_and_decisions_go(screening):
    older = screen(screening.client)

    erasing(screening.client_id)
    deleted, by_model = HealthScreening.objects.filter(client=screening.client_id).delete()

    assert by_model["screening.HealthScreening"] == 2
    assert by_model["screening.ScreeningDecision"] == 1
    assert not HealthScreening.objects.filter(pk__in=[screening.pk, older.pk]).exists()


def test_erasing_the_client_allows_raw_deletes_too(screening):
    erasing(screening.client_id)
    execute("DELETE FROM screening_screeningdecision WHERE screening_id = %s", [screening.pk])
    execute("DELETE FROM screening_healthscreening WHERE id = %s", [screening.pk])

    assert not HealthScreening.objects.filter(pk=screening.pk).exists()


def test_erasing_another_client_does_not_let_this_ones_go(screening):
    other = ClientFactory()
    screen(other)

    erasing(other.pk)

    assert_refused(
        lambda: execute("DELETE FROM screening_healthscreening WHERE id = %s", [screening.pk]),
        SCREENING_RULE,
    )
    assert_refused(screening.delete, DECISION_RULE)
    assert HealthScreening.objects.filter(pk=screening.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_erasing_lasts_only_for_its_transaction(screening):
    with transaction.atomic():
        erasing(screening.client_id)

    # A new transaction on the same connection: the setting is gone ('').
    assert_refused(screening.delete, DECISION_RULE)
    assert HealthScreening.objects.filter(pk=screening.pk).exists()
    # (This test's flush then empties the tables with TRUNCATE, which fires no
    # row triggers: the triggers stop deletes, not test clean-up.)


# The admin: refused with Django's "Cannot delete" page, never a 500, naming the
# client's screenings as the kept records that stop it (spa_booking/admin_deletion.py).
NOBODY_DELETES_SCREENINGS = (
    "would require deleting the following protected related objects:</p>"
    ' <ul id="deleted-objects"> <li>Health screenings (the spa keeps them)</li></ul>'
)


def page_of(response) -> str:
    """The page with its white space evened out."""
    return " ".join(response.content.decode().split())


def test_admin_refuses_to_delete_a_client_who_has_screenings(staff_http, screening):
    url = reverse("admin:clients_client_delete", args=[screening.client_id])

    for response in (staff_http.get(url), staff_http.post(url, {"post": "yes"})):
        assert response.status_code == 200
        page = page_of(response)
        assert "Cannot delete client" in page
        assert NOBODY_DELETES_SCREENINGS in page

    assert Client.objects.filter(pk=screening.client_id).exists()


def test_admin_refuses_to_delete_the_user_of_a_client_who_has_screenings(staff_http, screening):
    user = screening.client.user
    url = reverse("admin:clients_user_delete", args=[user.pk])

    for response in (staff_http.get(url), staff_http.post(url, {"post": "yes"})):
        assert response.status_code == 200
        page = page_of(response)
        assert "Cannot delete user" in page
        assert NOBODY_DELETES_SCREENINGS in page

    assert User.objects.filter(pk=user.pk).exists()


def test_admin_bulk_delete_of_such_users_is_refused_too(staff_http, screening):
    user = screening.client.user

    response = staff_http.post(
        reverse("admin:clients_user_changelist"),
        {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert "Cannot delete user" in response.content.decode()
    assert "Health screenings (the spa keeps them)" in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()
