"""Age in completed years: pure, so it is tested without a database or a clock."""

import datetime

ADULT_AGE = 18


def age_on(date_of_birth: datetime.date, day: datetime.date) -> int:
    """Completed years on `day`. Someone born on 29 February has a birthday on
    1 March in common years (the day after 28 February), as the law usually counts it."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def is_adult_on(date_of_birth: datetime.date, day: datetime.date) -> bool:
    return age_on(date_of_birth, day) >= ADULT_AGE


def first_adult_day(date_of_birth: datetime.date) -> datetime.date:
    """The 18th birthday: the first day `is_adult_on` is true (1 March for someone born on
    29 February when that year has no 29 February)."""
    year = date_of_birth.year + ADULT_AGE
    try:
        return date_of_birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return datetime.date(year, 3, 1)
