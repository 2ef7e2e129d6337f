"""The 18th birthday as a date: the first day the age check lets a client through."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.age import first_adult_day, is_adult_on

D = datetime.date


@pytest.mark.parametrize(
    ("born", "adult_from"),
    [
        (D(2008, 12, 10), D(2026, 12, 10)),
        # 18 years after a leap year is never one, so a 29 February birthday is 1 March.
        (D(2008, 2, 29), D(2026, 3, 1)),
        (D(2000, 2, 29), D(2018, 3, 1)),
        (D(2008, 2, 28), D(2026, 2, 28)),
        (D(2008, 3, 1), D(2026, 3, 1)),
        (D(2014, 2, 28), D(2032, 2, 28)),  # 18 in a leap year
        (D(1990, 1, 1), D(2008, 1, 1)),
        (D(1990, 12, 31), D(2008, 12, 31)),
    ],
)
def test_first_adult_day_is_the_18th_birthday(born, adult_from):
    assert first_adult_day(born) == adult_from


@given(born=st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)))
def test_first_adult_day_is_the_first_day_the_age_check_passes(born):
    adult_from = first_adult_day(born)

    assert is_adult_on(born, adult_from)
    assert not is_adult_on(born, adult_from - datetime.timedelta(days=1))
