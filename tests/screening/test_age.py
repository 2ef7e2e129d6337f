"""The age check: completed years on the day of booking, in the spa's time zone."""

import datetime

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from appointments.models import Treatment
from appointments.services import under_age_refusal
from clients.age import age_on, is_adult_on
from tests.factories import ClientFactory

D = datetime.date


@pytest.mark.parametrize(
    ("born", "day", "adult"),
    [
        (D(2008, 6, 15), D(2026, 6, 14), False),  # the day before the 18th birthday
        (D(2008, 6, 15), D(2026, 6, 15), True),  # on it
        (D(2008, 6, 15), D(2026, 6, 16), True),  # after it
        (D(2008, 2, 29), D(2026, 2, 28), False),  # leap-day birthday, common year
        (D(2008, 2, 29), D(2026, 3, 1), True),  # turns 18 on 1 March
        (D(2004, 2, 29), D(2022, 2, 28), False),
        (D(2004, 2, 29), D(2022, 3, 1), True),
        (D(2010, 2, 28), D(2028, 2, 28), True),
        (D(2008, 12, 31), D(2026, 12, 31), True),
        (D(2009, 1, 1), D(2026, 12, 31), False),
    ],
)
def test_adult_on_the_18th_birthday_in_completed_years(born, day, adult):
    assert is_adult_on(born, day) is adult


@given(
    born=st.dates(min_value=D(1900, 1, 1), max_value=D(2030, 12, 31)), days=st.integers(0, 40000)
)
def test_age_grows_by_one_on_each_birthday_and_never_otherwise(born, days):
    day = born + datetime.timedelta(days=days)
    if day.year > 9998:
        return
    age = age_on(born, day)
    assert age >= 0
    next_day = day + datetime.timedelta(days=1)
    grew = age_on(born, next_day) - age
    assert grew in (0, 1)
    # It grows exactly on the birthday (1 March for a 29 February birthday in common years).
    is_birthday = (next_day.month, next_day.day) == (born.month, born.day) or (
        (born.month, born.day) == (2, 29)
        and (next_day.month, next_day.day) == (3, 1)
        and not (next_day.year % 4 == 0 and (next_day.year % 100 != 0 or next_day.year % 400 == 0))
    )
    assert (grew == 1) is is_birthday


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("utc_now", "refused"),
    [
        # London in summer is UTC+1: at 23:30 UTC on 14 June it is already 15 June there.
        (datetime.datetime(2026, 6, 14, 23, 30, tzinfo=datetime.UTC), False),
        # 22:59 UTC is 23:59 in London, still 14 June: one day short of 18.
        (datetime.datetime(2026, 6, 14, 22, 59, tzinfo=datetime.UTC), True),
        # Just after midnight in London on the birthday.
        (datetime.datetime(2026, 6, 14, 23, 0, 30, tzinfo=datetime.UTC), False),
    ],
)
def test_age_check_uses_the_spas_date_not_the_servers_utc_date(utc_now, refused):
    client = ClientFactory(date_of_birth=D(2008, 6, 15))
    treatment = Treatment(name="Ashiatsu", is_back_walking=True)

    with time_machine.travel(utc_now, tick=False):
        refusal = under_age_refusal(client=client, treatment=treatment)

    assert (refusal is not None) is refused
