"""Recorded sessions as review reads them: the list (scoped, filtered, paged), one
session's head and files, and its status from its files'.

With the catalog (``catalog.py``, which writes them) this is the only SQL on
``recording_sessions`` and ``recordings``: the recordings package owns its tables. A
scope (which facilities, or which participant) becomes a condition here; rows come back
as frozen dataclasses. The database comes in as ``ports.Reader``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recordings.ports import Reader


def duration(started_at: float, ended_at: float | None) -> float | None:
    """How long a recorded session lasted (None while it has no end)."""
    return None if ended_at is None else max(0.0, ended_at - started_at)


@dataclass(frozen=True)
class Scope:
    """What a user may review: sessions touching ``facilities``, or those recording
    ``participant``; neither: nothing."""

    facilities: frozenset[int] = frozenset()
    participant: int | None = None

    @property
    def empty(self) -> bool:
        return not self.facilities and self.participant is None


@dataclass(frozen=True)
class Query:
    """One page of the session list: who looks (``scope``), narrowed by the filters."""

    scope: Scope
    #: Sessions touching this subtree of the referral tree (the facility filter).
    within: frozenset[int] | None
    specialty: str | None
    started_from: float | None
    started_before: float | None
    min_seconds: int
    status: str | None
    language: str
    limit: int
    offset: int


@dataclass(frozen=True)
class RecordedSession:
    id: int
    consult_id: int
    started_at: float
    ended_at: float | None
    facility: str
    specialty: str
    people: str
    status: str
    size: int
    files: int

    @property
    def duration(self) -> float | None:
        return duration(self.started_at, self.ended_at)


@dataclass(frozen=True)
class RecordedSessionHead:
    id: int
    consult_id: int
    started_at: float
    ended_at: float | None
    summary: str
    urgency: str
    facility: str
    specialty: str
    clinician: str


@dataclass(frozen=True)
class RecordedFile:
    id: int
    user_id: int
    role: str
    status: str
    size: int | None
    sha256: str | None
    frames: int | None
    frames_dropped: int | None
    started_at: float
    ended_at: float | None
    name: str
    facility: str


def _count(status: str) -> str:
    return f"SUM(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END)"


#: A session's status from its files': the worst one wins.
_STATUS_SQL = (
    f"CASE WHEN {_count('recording')} > 0 THEN 'recording'"
    f" WHEN {_count('damaged')} > 0 THEN 'damaged'"
    f" WHEN {_count('interrupted')} > 0 THEN 'interrupted'"
    f" WHEN {_count('deleted')} = COUNT(*) THEN 'deleted'"
    " ELSE 'complete' END"
)


def _touching(facilities: frozenset[int]) -> tuple[str, list[Any]]:
    """Sessions ``s`` of consult ``c`` filed at, or recording someone of, these facilities."""
    marks = ",".join("?" for _ in facilities)
    ids = sorted(facilities)
    return (
        f"(c.facility_id IN ({marks}) OR EXISTS (SELECT 1 FROM recordings r2"
        " JOIN users u2 ON u2.id = r2.user_id WHERE r2.session_id = s.id"
        f" AND u2.facility_id IN ({marks})))",
        [*ids, *ids],
    )


def _where(scope: Scope) -> tuple[str, list[Any]]:
    """The scope as an SQL condition on session ``s`` and consult ``c``."""
    if scope.facilities:
        return _touching(scope.facilities)
    if scope.participant is not None:
        return (
            "EXISTS (SELECT 1 FROM recordings r2 WHERE r2.session_id = s.id AND r2.user_id = ?)",
            [scope.participant],
        )
    return "1 = 0", []


class RecordedSessions:
    def __init__(self, db: Reader) -> None:
        self.db = db

    async def in_scope(self, scope: Scope, recording_session_id: int) -> bool:
        condition, params = _where(scope)
        row = await self.db.fetch_one(
            "SELECT 1 FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            f" WHERE s.id = ? AND {condition}",
            (recording_session_id, *params),
        )
        return row is not None

    async def sessions(self, query: Query) -> tuple[int, list[RecordedSession]]:
        """How many sessions match, and the page asked for (newest first)."""
        condition, params = _where(query.scope)
        clauses, having = [condition], []
        if query.within is not None:
            more, extra = _touching(query.within)
            clauses.append(more)
            params += extra
        if query.specialty:
            clauses.append("c.specialty_code = ?")
            params.append(query.specialty)
        if query.started_from is not None:
            clauses.append("s.started_at >= ?")
            params.append(query.started_from)
        if query.started_before is not None:
            clauses.append("s.started_at < ?")
            params.append(query.started_before)
        having_params: list[Any] = []
        if query.min_seconds:
            having.append("COALESCE(s.ended_at, MAX(r.ended_at)) - s.started_at >= ?")
            having_params.append(query.min_seconds)
        if query.status:
            having.append(f"{_STATUS_SQL} = ?")
            having_params.append(query.status)
        name = "name_en" if query.language == "en" else "name_vi"
        body = (
            "FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN specialties sp ON sp.code = c.specialty_code"
            " JOIN recordings r ON r.session_id = s.id"
            " JOIN users u ON u.id = r.user_id"
            f" WHERE {' AND '.join(clauses)} GROUP BY s.id, f.name, sp.{name}"
            + (f" HAVING {' AND '.join(having)}" if having else "")
        )
        all_params = [*params, *having_params]
        async with self.db.reading() as tx:
            counted = await tx.fetch_one(
                f"SELECT COUNT(*) AS n FROM (SELECT s.id {body}) AS matching", all_params
            )
            rows = await tx.fetch_all(
                "SELECT s.id, s.consult_id, s.started_at,"
                " COALESCE(s.ended_at, MAX(r.ended_at)) AS ended_at, f.name AS facility,"
                f" sp.{name} AS specialty, {self._joined('u.display_name')} AS people,"
                f" {_STATUS_SQL} AS status, COALESCE(SUM(r.size), 0) AS size,"
                f" COUNT(r.id) AS files {body} ORDER BY s.started_at DESC LIMIT ? OFFSET ?",
                [*all_params, query.limit, query.offset],
            )
        return (int(counted["n"]) if counted else 0), [RecordedSession(**row) for row in rows]

    def _joined(self, column: str) -> str:
        """The aggregate joining a group's texts with ", " in this engine's SQL."""
        if self.db.postgresql:
            return f"STRING_AGG({column}, ', ')"
        return f"GROUP_CONCAT({column}, ', ')"

    async def head(self, recording_session_id: int, language: str) -> RecordedSessionHead | None:
        name = "name_en" if language == "en" else "name_vi"
        row = await self.db.fetch_one(
            "SELECT s.id, s.consult_id, s.started_at, s.ended_at, c.summary, c.urgency,"
            f" f.name AS facility, sp.{name} AS specialty, u.display_name AS clinician"
            " FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN specialties sp ON sp.code = c.specialty_code"
            " JOIN users u ON u.id = c.clinician_id WHERE s.id = ?",
            (recording_session_id,),
        )
        return None if row is None else RecordedSessionHead(**row)

    async def files(self, recording_session_id: int) -> list[RecordedFile]:
        rows = await self.db.fetch_all(
            "SELECT r.id, r.user_id, r.role, r.status, r.size, r.sha256, r.frames,"
            " r.frames_dropped, r.started_at, r.ended_at, u.display_name AS name,"
            " f.name AS facility"
            " FROM recordings r JOIN users u ON u.id = r.user_id"
            " JOIN facilities f ON f.id = u.facility_id WHERE r.session_id = ? ORDER BY r.id",
            (recording_session_id,),
        )
        return [RecordedFile(**row) for row in rows]

    async def status(self, recording_session_id: int) -> str | None:
        """The session's status from its files' (None: it has none)."""
        row = await self.db.fetch_one(
            f"SELECT {_STATUS_SQL} AS status, COUNT(*) AS n FROM recordings r"
            " WHERE r.session_id = ?",
            (recording_session_id,),
        )
        return None if row is None or not row["n"] else str(row["status"])

    async def recorded_seconds(
        self, group: str, consults: str, params: list[Any]
    ) -> dict[str, float]:
        """Seconds of recorded sessions per group of consults. The caller selects the
        consults: ``group`` and ``consults`` are its SQL over consult ``c`` and facility
        ``f`` (a group expression, a condition), ``params`` theirs, in that order; the
        recording tables' side of the query is this module's."""
        rows = await self.db.fetch_all(
            f"SELECT {group} AS k, SUM(s.ended_at - s.started_at) AS seconds"
            " FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            " JOIN facilities f ON f.id = c.facility_id"
            f" WHERE s.ended_at IS NOT NULL AND {consults} GROUP BY 1",
            params,
        )
        return {str(r["k"]): float(r["seconds"] or 0) for r in rows}
