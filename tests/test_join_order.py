"""spa_booking.join_order: the queries inside plan their joins in the written order; the
ones after plan freely again, however the block ends."""

import pytest
from django.db import connection, transaction

from spa_booking.join_order import in_written_order

pytestmark = pytest.mark.django_db(transaction=True)


def _limit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW join_collapse_limit")
        return cursor.fetchone()[0]


def test_inside_the_joins_keep_their_order_and_after_they_do_not():
    default = _limit()

    with in_written_order():
        inside = _limit()

    assert (inside, _limit()) == ("1", default)
    assert default != "1"


def test_inside_a_transaction_that_goes_on_the_order_is_freed_at_the_end_of_the_block():
    default = _limit()
    with transaction.atomic():
        with in_written_order():
            assert _limit() == "1"
        assert _limit() == default


def test_a_failure_inside_frees_the_order_too():
    default = _limit()
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), in_written_order():
            assert _limit() == "1"
            1 / 0  # noqa: B018
        assert _limit() == default
