"""Weekly availability turned into bookable slots, pure.

A specialist publishes, per specialty, hours on weekdays in the service's time of day
("Tuesdays 08:00-11:00, 20-minute slots, 2 patients a slot") and days off. The slots of
a range of days are those hours cut into lengths, minus days off, minus the past, minus
slots whose seats are all taken. Times are seconds since the epoch; days and hours are
the service's (``local_time``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from consult_server.errors import BadRequest
from consult_server.local_time import SERVICE_TIMEZONE, day_start

#: Shortest and longest slot, and the most patients one slot takes.
SLOT_MINUTES = (5, 240)
MAX_PER_SLOT = 20
#: How far ahead slots are shown and booked.
MAX_DAYS_AHEAD = 92


@dataclass(frozen=True)
class Availability:
    specialist_id: int
    specialty: str
    #: Monday 0 … Sunday 6.
    weekday: int
    start_minute: int
    end_minute: int
    slot_minutes: int
    per_slot: int = 1

    def check(self) -> None:
        """Raise naming what is wrong (nothing is saved then)."""
        if not 0 <= self.weekday <= 6:
            raise BadRequest("weekday is 0 (Monday) to 6 (Sunday)", "bad_availability")
        if not 0 <= self.start_minute < self.end_minute <= 24 * 60:
            raise BadRequest("the hours must start before they end", "bad_availability")
        if not SLOT_MINUTES[0] <= self.slot_minutes <= SLOT_MINUTES[1]:
            raise BadRequest(
                f"a slot is {SLOT_MINUTES[0]}-{SLOT_MINUTES[1]} minutes", "bad_availability"
            )
        if self.slot_minutes > self.end_minute - self.start_minute:
            raise BadRequest("the hours are shorter than one slot", "bad_availability")
        if not 1 <= self.per_slot <= MAX_PER_SLOT:
            raise BadRequest(f"1-{MAX_PER_SLOT} patients a slot", "bad_availability")


@dataclass(frozen=True)
class Slot:
    specialist_id: int
    specialty: str
    starts_at: float
    ends_at: float
    per_slot: int
    taken: int = 0

    @property
    def free(self) -> int:
        return self.per_slot - self.taken


def _start(day: datetime.date, minute: int) -> float:
    return day_start(day) + minute * 60  # the service's time has no daylight saving


def slots_of(
    hours: Iterable[Availability],
    first_day: datetime.date,
    days: int,
    days_off: Set[tuple[int, datetime.date]] = frozenset(),
    taken: Mapping[tuple[int, float], int] | None = None,
    now: float = 0.0,
    only_free: bool = True,
) -> list[Slot]:
    """The slots on ``days`` days from ``first_day``, in time order. ``days_off``:
    (specialist, day); ``taken``: seats booked by (specialist, start)."""
    taken = taken or {}
    found = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        for h in hours:
            if h.weekday != day.weekday() or (h.specialist_id, day) in days_off:
                continue
            minute = h.start_minute
            while minute + h.slot_minutes <= h.end_minute:
                starts = _start(day, minute)
                slot = Slot(
                    h.specialist_id,
                    h.specialty,
                    starts,
                    _start(day, minute + h.slot_minutes),
                    h.per_slot,
                    taken.get((h.specialist_id, starts), 0),
                )
                if starts > now and (slot.free > 0 or not only_free):
                    found.append(slot)
                minute += h.slot_minutes
    return sorted(found, key=lambda s: (s.starts_at, s.specialist_id))


def slot_at(
    hours: Iterable[Availability],
    specialist_id: int,
    specialty: str,
    starts_at: float,
    days_off: Set[tuple[int, datetime.date]] = frozenset(),
) -> Slot | None:
    """The published slot starting then, if there is one (seats not counted)."""
    day = datetime.datetime.fromtimestamp(starts_at, SERVICE_TIMEZONE).date()
    mine = [h for h in hours if h.specialist_id == specialist_id and h.specialty == specialty]
    for slot in slots_of(mine, day, 1, days_off, only_free=False):
        if slot.starts_at == starts_at:
            return slot
    return None
