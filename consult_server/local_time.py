"""The service's own time: Vietnam's (UTC+7, no daylight saving).

The one home of the offset: pages show moments in it, review's date filters are read
in it, and a patient's year of birth and age are reckoned in it. Stored moments stay
seconds since the epoch (UTC); only what people read or type is local.
"""

from __future__ import annotations

import datetime

#: UTC+7 all year: Vietnam has kept no daylight saving since 1975.
SERVICE_TIMEZONE = datetime.timezone(datetime.timedelta(hours=7), "ICT")


def local_moment(at: float | None) -> str:
    """A moment as people here write it, "7/12/2026 10:18", in the service's time
    ("" for none): the one date style of every page."""
    if at is None:
        return ""
    moment = datetime.datetime.fromtimestamp(at, SERVICE_TIMEZONE)
    return f"{local_day(moment.date())} {moment:%H:%M}"


def local_day(day: datetime.date) -> str:
    """A day as "7/12/2026"."""
    return f"{day.day}/{day.month}/{day.year}"


def year_at(at: float) -> int:
    """The calendar year in the service's time at ``at`` (seconds since the epoch)."""
    return datetime.datetime.fromtimestamp(at, SERVICE_TIMEZONE).year


def today() -> datetime.date:
    """Today in the service's time."""
    return datetime.datetime.now(SERVICE_TIMEZONE).date()


def day_start(day: datetime.date) -> float:
    """The first moment of ``day`` in the service's time, as seconds since the epoch."""
    return datetime.datetime.combine(day, datetime.time(), SERVICE_TIMEZONE).timestamp()
