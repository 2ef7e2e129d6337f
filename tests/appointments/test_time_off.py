"""TimeOffQuerySet.overlapping: the time off that overlaps a window, by its span's index."""

import pytest

from appointments.models import TimeOff
from tests.factories import TherapistFactory
from tests.scheduling import TOMORROW, at

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "start, end, overlaps",
    [
        (at(TOMORROW, 8), at(TOMORROW, 10), False),  # ends as the time off starts
        (at(TOMORROW, 8), at(TOMORROW, 10, 1), True),
        (at(TOMORROW, 12), at(TOMORROW, 13), False),  # starts as it ends
        (at(TOMORROW, 11, 59), at(TOMORROW, 13), True),
        (at(TOMORROW, 10, 30), at(TOMORROW, 11), True),  # inside it
        (at(TOMORROW, 9), at(TOMORROW, 13), True),  # around it
    ],
)
def test_time_off_overlaps_a_window_as_two_half_open_spans_do(start, end, overlaps):
    off = TimeOff.objects.create(
        therapist=TherapistFactory(), starts_at=at(TOMORROW, 10), ends_at=at(TOMORROW, 12)
    )
    found = list(TimeOff.objects.overlapping(start, end))

    assert found == ([off] if overlaps else [])
    # The same as the two comparisons it replaces.
    assert found == list(TimeOff.objects.filter(starts_at__lt=end, ends_at__gt=start))
