"""The SQL of the figures: aggregates over the consults filed at a set of facilities in
a range of months, grouped by month, facility, level or specialty, the same on SQLite
and PostgreSQL (a month is a CASE over its bounds in the service's time; percentiles are
nearest-rank picks with window functions, which both engines have).

Recorded time is read through ``recordings.sessions`` (the recordings own their tables),
handed this module's selection of consults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consult_server.bookings.repository import BookingRepository
from consult_server.store.db import Database
from consult_server.teaching.repository import TeachingRepository
from recordings.sessions import RecordedSessions


@dataclass(frozen=True)
class Slice:
    """Which consults: filed at ``facilities`` between ``bounds[0]`` and ``bounds[-1]``
    (``bounds``: each month's start, then the end), narrowed by level and specialty."""

    facilities: frozenset[int]
    bounds: tuple[float, ...]
    by: str
    level: str = ""
    specialty: str = ""


def _marks(count: int) -> str:
    return ",".join("?" * count)


@dataclass(frozen=True)
class Columns:
    """Where a kind of row keeps its moment, facility and specialty (facility ``f`` is
    joined by the query). Consults by default; bookings and teaching sessions too."""

    at: str = "c.created_at"
    facility: str = "c.facility_id"
    #: None: the rows have no specialty (teaching).
    specialty: str | None = "c.specialty_code"


CONSULTS = Columns()
BOOKINGS = Columns("b.starts_at", "b.facility_id", "b.specialty_code")
TEACHING = Columns("t.created_at", "u.facility_id", None)


def key_sql(by: str, bounds: Sequence[float], columns: Columns = CONSULTS) -> tuple[str, list[Any]]:
    """The group of a row (with facility ``f``) as SQL, and its parameters."""
    if by == "month":
        whens = " ".join(f"WHEN {columns.at} < ? THEN {i}" for i in range(len(bounds) - 1))
        return f"(CASE {whens} END)", list(bounds[1:])
    column = {
        "facility": columns.facility,
        "level": "f.level",
        "specialty": columns.specialty or "''",
    }
    return column[by], []


def where_sql(piece: Slice, columns: Columns = CONSULTS) -> tuple[str, list[Any]]:
    ids = sorted(piece.facilities)
    clauses = [
        f"{columns.facility} IN ({_marks(len(ids))})",
        f"{columns.at} >= ?",
        f"{columns.at} < ?",
    ]
    params: list[Any] = [*ids, piece.bounds[0], piece.bounds[-1]]
    if piece.level:
        clauses.append("f.level = ?")
        params.append(piece.level)
    if piece.specialty:
        clauses.append(f"{columns.specialty or chr(39) * 2} = ?")
        params.append(piece.specialty)
    return " AND ".join(clauses), params


_COUNTS = (
    "COUNT(*) AS requested,"
    " SUM(CASE WHEN c.accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS accepted,"
    " SUM(CASE WHEN c.state = 'ended' THEN 1 ELSE 0 END) AS completed,"
    " SUM(CASE WHEN c.state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,"
    " SUM(CASE WHEN c.state = 'expired' THEN 1 ELSE 0 END) AS expired,"
    " SUM(c.tier) AS escalations,"
    " SUM(CASE WHEN c.started_at IS NOT NULL AND c.ended_at IS NOT NULL THEN 1 ELSE 0 END)"
    " AS calls,"
    " SUM(CASE WHEN c.started_at IS NOT NULL AND c.ended_at IS NOT NULL"
    " THEN c.ended_at - c.started_at ELSE 0 END) AS call_seconds"
)


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def counts(self, piece: Slice) -> list[dict[str, Any]]:
        key, key_params = key_sql(piece.by, piece.bounds)
        where, params = where_sql(piece)
        rows = await self.db.fetch_all(
            f"SELECT {key} AS k, {_COUNTS} FROM consults c"
            f" JOIN facilities f ON f.id = c.facility_id WHERE {where} GROUP BY 1",
            [*key_params, *params],
        )
        return [dict(r) for r in rows]

    async def waits(self, piece: Slice) -> dict[str, tuple[float, float]]:
        """Request to accept, per group and over all of them (key ``"*"``): (median,
        p90) in seconds, nearest rank; one pass, both rankings."""
        key, key_params = key_sql(piece.by, piece.bounds)
        where, params = where_sql(piece)
        rows = await self.db.fetch_all(
            "SELECT k, wait, rn, n, arn, an FROM (SELECT k, wait,"
            " ROW_NUMBER() OVER (PARTITION BY k ORDER BY wait) AS rn,"
            " COUNT(*) OVER (PARTITION BY k) AS n,"
            " ROW_NUMBER() OVER (ORDER BY wait) AS arn, COUNT(*) OVER () AS an FROM ("
            f" SELECT {key} AS k, c.accepted_at - c.created_at AS wait FROM consults c"
            f" JOIN facilities f ON f.id = c.facility_id"
            f" WHERE {where} AND c.accepted_at IS NOT NULL) AS accepted) AS ranked"
            " WHERE rn = (n + 1) / 2 OR rn = (9 * n + 9) / 10"
            " OR arn = (an + 1) / 2 OR arn = (9 * an + 9) / 10",
            [*key_params, *params],
        )
        picked: dict[str, dict[str, float]] = {}
        for r in rows:
            wait = float(r["wait"])
            for group, rank, count in ((str(r["k"]), r["rn"], r["n"]), ("*", r["arn"], r["an"])):
                slot = picked.setdefault(group, {})
                if int(rank) == (int(count) + 1) // 2:
                    slot["median"] = wait
                if int(rank) == (9 * int(count) + 9) // 10:
                    slot["p90"] = wait
        return {k: (v["median"], v["p90"]) for k, v in picked.items() if len(v) == 2}

    async def dispositions(self, piece: Slice) -> dict[str, dict[str, int]]:
        """What the specialists decided: the latest signed note's disposition."""
        key, key_params = key_sql(piece.by, piece.bounds)
        where, params = where_sql(piece)
        rows = await self.db.fetch_all(
            f"SELECT {key} AS k, n.disposition AS d, COUNT(*) AS count FROM consults c"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN consult_notes n ON n.consult_id = c.id AND n.signed_at IS NOT NULL"
            " AND n.version = (SELECT MAX(n2.version) FROM consult_notes n2"
            " WHERE n2.consult_id = c.id AND n2.signed_at IS NOT NULL)"
            f" WHERE {where} GROUP BY 1, 2",
            [*key_params, *params],
        )
        found: dict[str, dict[str, int]] = {}
        for r in rows:
            found.setdefault(str(r["k"]), {})[str(r["d"])] = int(r["count"])
        return found

    async def images(self, piece: Slice) -> dict[str, int]:
        """Images sent with the consults (photos, X-rays, CT and ultrasound frames)."""
        key, key_params = key_sql(piece.by, piece.bounds)
        where, params = where_sql(piece)
        rows = await self.db.fetch_all(
            f"SELECT {key} AS k, COUNT(*) AS count FROM consults c"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN consult_files x ON x.consult_id = c.id"
            " AND x.kind IN ('jpeg', 'png', 'dicom')"
            f" WHERE {where} GROUP BY 1",
            [*key_params, *params],
        )
        return {str(r["k"]): int(r["count"]) for r in rows}

    async def recorded(self, piece: Slice, sessions: RecordedSessions) -> dict[str, float]:
        """Seconds recorded per group, read by the recordings' own module."""
        key, key_params = key_sql(piece.by, piece.bounds)
        where, params = where_sql(piece)
        return await sessions.recorded_seconds(key, where, [*key_params, *params])

    async def booked(self, piece: Slice, bookings: BookingRepository) -> dict[str, tuple[int, int]]:
        """Bookings (not cancelled) and missed ones per group, read by the bookings' own
        repository; a booking counts in the month of its time."""
        key, key_params = key_sql(piece.by, piece.bounds, BOOKINGS)
        where, params = where_sql(piece, BOOKINGS)
        return await bookings.figures(key, where, [*key_params, *params])

    async def taught(
        self, piece: Slice, teaching: TeachingRepository
    ) -> dict[str, tuple[int, int]]:
        """Teaching sessions hosted and their viewers per group (none by specialty)."""
        if piece.by == "specialty" or piece.specialty:
            return {}
        key, key_params = key_sql(piece.by, piece.bounds, TEACHING)
        where, params = where_sql(piece, TEACHING)
        return await teaching.figures(key, where, [*key_params, *params])
