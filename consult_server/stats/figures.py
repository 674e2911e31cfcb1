"""What the figures are, pure: the filters (from the URL), the months they cover in the
service's time, one row of figures per group, and the same rows as CSV lines and as a
DHIS2 ``dataValueSets`` payload.

Groups: by month, facility, level or specialty, over the facilities under the viewer's
own. A consult counts in the month it was filed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from consult_server.accounts.models import Level
from consult_server.errors import BadRequest
from consult_server.local_time import day_start

GROUPS = ("month", "facility", "level", "specialty")
#: At most this many months in one view (two years).
MAX_MONTHS = 24
DISPOSITIONS = ("commune", "follow_up", "refer", "transfer")


def _month(value: str, name: str) -> datetime.date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        raise BadRequest(f"{name} must be a month (YYYY-MM)", "bad_filter") from None


def _next(month: datetime.date) -> datetime.date:
    return datetime.date(month.year + month.month // 12, month.month % 12 + 1, 1)


@dataclass(frozen=True)
class Filters:
    first: datetime.date
    last: datetime.date
    by: str = "month"
    facility_id: int | None = None
    level: Level | None = None
    specialty: str = ""

    @classmethod
    def parse(cls, query: Mapping[str, str], today: datetime.date) -> Filters:
        this_month = today.replace(day=1)
        default_first = this_month
        for _ in range(11):
            default_first = (default_first - datetime.timedelta(days=1)).replace(day=1)
        first = _month(query["from"], "from") if query.get("from") else default_first
        last = _month(query["to"], "to") if query.get("to") else this_month
        if last < first:
            raise BadRequest("the first month comes after the last", "bad_filter")
        if len(months_between(first, last)) > MAX_MONTHS:
            raise BadRequest(f"at most {MAX_MONTHS} months at once", "bad_filter")
        by = query.get("by", "month")
        if by not in GROUPS:
            raise BadRequest("group by month, facility, level or specialty", "bad_filter")
        facility = query.get("facility", "")
        level = query.get("level", "")
        if level and level not in {lv.value for lv in Level}:
            raise BadRequest("no such level", "bad_filter")
        return cls(
            first,
            last,
            by,
            int(facility) if facility.isdigit() else None,
            Level(level) if level else None,
            query.get("specialty", "")[:64],
        )

    def query(self, **changes: str) -> dict[str, str]:
        """The filters as URL parameters (a view can be bookmarked)."""
        values = {
            "from": self.first.strftime("%Y-%m"),
            "to": self.last.strftime("%Y-%m"),
            "by": self.by,
            "facility": str(self.facility_id or ""),
            "level": self.level.value if self.level else "",
            "specialty": self.specialty,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months = [first]
    while months[-1] < last:
        months.append(_next(months[-1]))
    return months


def month_bounds(first: datetime.date, last: datetime.date) -> list[float]:
    """The instants each month starts, and the end of the last, in the service's time."""
    months = months_between(first, last)
    return [day_start(m) for m in months] + [day_start(_next(months[-1]))]


@dataclass
class Row:
    """The figures of one group."""

    key: str
    label: str
    requested: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    expired: int = 0
    escalations: int = 0
    wait_median_s: float | None = None
    wait_p90_s: float | None = None
    calls: int = 0
    call_seconds: float = 0.0
    images: int = 0
    recorded_seconds: float = 0.0
    dispositions: dict[str, int] = field(default_factory=dict)
    booked: int = 0
    missed: int = 0
    teaching_sessions: int = 0
    teaching_viewers: int = 0

    @property
    def call_mean_s(self) -> float | None:
        return self.call_seconds / self.calls if self.calls else None


#: The CSV's columns, in order: (header, how a row gives it).
COLUMNS = (
    "group",
    "requested",
    "accepted",
    "completed",
    "cancelled",
    "expired",
    "escalations",
    "wait_median_s",
    "wait_p90_s",
    "calls",
    "call_mean_s",
    "images",
    "recorded_hours",
    *(f"disposition_{d}" for d in DISPOSITIONS),
    "booked",
    "missed",
    "teaching_sessions",
    "teaching_viewers",
)


def csv_line(row: Row) -> list[str]:
    def number(value: float | None, digits: int = 0) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    return [
        row.label,
        str(row.requested),
        str(row.accepted),
        str(row.completed),
        str(row.cancelled),
        str(row.expired),
        str(row.escalations),
        number(row.wait_median_s),
        number(row.wait_p90_s),
        str(row.calls),
        number(row.call_mean_s),
        str(row.images),
        number(row.recorded_seconds / 3600, 2),
        *(str(row.dispositions.get(d, 0)) for d in DISPOSITIONS),
        str(row.booked),
        str(row.missed),
        str(row.teaching_sessions),
        str(row.teaching_viewers),
    ]


#: DHIS2 data elements (codes the health department maps to its own).
DATA_ELEMENTS = (
    ("CONSULT_REQUESTED", "requested"),
    ("CONSULT_ACCEPTED", "accepted"),
    ("CONSULT_COMPLETED", "completed"),
    ("CONSULT_CANCELLED", "cancelled"),
    ("CONSULT_EXPIRED", "expired"),
    ("CONSULT_ESCALATIONS", "escalations"),
    ("CONSULT_IMAGES", "images"),
    ("CONSULT_BOOKED", "booked"),
    ("CONSULT_BOOKED_MISSED", "missed"),
    ("TEACHING_SESSIONS", "teaching_sessions"),
    ("TEACHING_VIEWERS", "teaching_viewers"),
)


def data_value_set(month: datetime.date, rows: Mapping[str, Row]) -> dict[str, object]:
    """One month's figures per facility (org unit = facility code) as DHIS2's
    ``dataValueSets`` JSON; zero values left out, as DHIS2 expects."""
    period = month.strftime("%Y%m")
    values = []
    for code, row in sorted(rows.items()):
        for element, attribute in DATA_ELEMENTS:
            value = getattr(row, attribute)
            if value:
                values.append(
                    {"dataElement": element, "period": period, "orgUnit": code, "value": str(value)}
                )
    return {"period": period, "dataValues": values}
