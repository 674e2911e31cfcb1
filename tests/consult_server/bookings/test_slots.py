"""Weekly hours into slots, driven directly: lengths, days off, the past, full slots."""

from __future__ import annotations

import datetime

import pytest

from consult_server.bookings.slots import Availability, slot_at, slots_of
from consult_server.errors import ClientError
from consult_server.local_time import day_start

TUESDAY = datetime.date(2026, 12, 8)
HOURS = Availability(7, "cardiology", 1, 8 * 60, 9 * 60, 20, per_slot=2)


def test_tuesday_mornings_in_twenty_minutes() -> None:
    found = slots_of([HOURS], TUESDAY - datetime.timedelta(days=1), 8)
    starts = [s.starts_at for s in found]
    base = day_start(TUESDAY) + 8 * 3600
    assert starts == [base, base + 1200, base + 2400]
    assert all(s.ends_at - s.starts_at == 1200 and s.per_slot == 2 for s in found)


def test_days_off_the_past_and_full_slots_are_left_out() -> None:
    base = day_start(TUESDAY) + 8 * 3600
    assert slots_of([HOURS], TUESDAY, 1, days_off={(7, TUESDAY)}) == []
    assert len(slots_of([HOURS], TUESDAY, 1, now=base + 60)) == 2
    full = slots_of([HOURS], TUESDAY, 1, taken={(7, base): 2, (7, base + 1200): 1})
    assert [(s.starts_at, s.free) for s in full] == [(base + 1200, 1), (base + 2400, 2)]


def test_a_slot_is_found_only_where_it_was_published() -> None:
    base = day_start(TUESDAY) + 8 * 3600
    assert slot_at([HOURS], 7, "cardiology", base + 1200) is not None
    assert slot_at([HOURS], 7, "cardiology", base + 600) is None
    assert slot_at([HOURS], 7, "pediatrics", base) is None
    assert slot_at([HOURS], 7, "cardiology", base, {(7, TUESDAY)}) is None


@pytest.mark.parametrize(
    "hours",
    [
        Availability(7, "x", 7, 480, 540, 20),
        Availability(7, "x", 1, 540, 480, 20),
        Availability(7, "x", 1, 480, 540, 2),
        Availability(7, "x", 1, 480, 490, 20),
        Availability(7, "x", 1, 480, 540, 20, per_slot=0),
    ],
)
def test_bad_hours_are_refused(hours: Availability) -> None:
    with pytest.raises(ClientError) as refused:
        hours.check()
    assert refused.value.code == "bad_availability"
