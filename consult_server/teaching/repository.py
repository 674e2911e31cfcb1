"""Where teaching sessions are stored: the only SQL on teaching sessions and their
attendance. Methods return the domain's frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consult_server.store.db import Database


@dataclass(frozen=True)
class TeachingSession:
    id: int
    title: str
    host_id: int
    co_presenter_id: int | None
    state: str

    @property
    def presenters(self) -> frozenset[int]:
        return frozenset(u for u in (self.host_id, self.co_presenter_id) if u is not None)


@dataclass(frozen=True)
class Announced:
    """A teaching session as the list of open ones shows it."""

    id: int
    title: str
    state: str
    created_at: float
    host: str
    facility: str
    co_presenter: str | None


_QUESTION = (
    "SELECT q.id, q.text, q.asked_at, q.answered_at, u.display_name AS author"
    " FROM teaching_questions q JOIN users u ON u.id = q.author_id"
)


def _question(row: Any) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "text": str(row["text"]),
        "author": str(row["author"]),
        "asked_at": float(row["asked_at"]),
        "answered": row["answered_at"] is not None,
    }


class TeachingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, title: str, host_id: int, co_presenter_id: int | None, at: float) -> int:
        return await self.db.insert(
            "INSERT INTO teaching_sessions (title, host_id, co_presenter_id, state, created_at)"
            " VALUES (?, ?, ?, 'open', ?) RETURNING id",
            (title, host_id, co_presenter_id, at),
        )

    async def get(self, teaching_id: int) -> TeachingSession | None:
        row = await self.db.fetch_one(
            "SELECT id, title, host_id, co_presenter_id, state FROM teaching_sessions WHERE id = ?",
            (teaching_id,),
        )
        return None if row is None else TeachingSession(**row)

    async def not_ended(self, limit: int) -> list[Announced]:
        """Open and live sessions, newest first."""
        rows = await self.db.fetch_all(
            "SELECT t.id, t.title, t.state, t.created_at, h.display_name AS host,"
            " f.name AS facility, c.display_name AS co_presenter FROM teaching_sessions t"
            " JOIN users h ON h.id = t.host_id JOIN facilities f ON f.id = h.facility_id"
            " LEFT JOIN users c ON c.id = t.co_presenter_id"
            " WHERE t.state != 'ended' ORDER BY t.created_at DESC LIMIT ?",
            (limit,),
        )
        return [Announced(**row) for row in rows]

    async def went_live(self, teaching_id: int, at: float) -> None:
        await self.db.execute(
            "UPDATE teaching_sessions SET state = 'live', started_at = COALESCE(started_at, ?)"
            " WHERE id = ? AND state != 'ended'",
            (at, teaching_id),
        )

    async def ended(self, teaching_id: int, at: float, reason: str) -> None:
        await self.db.execute(
            "UPDATE teaching_sessions SET state = 'ended', ended_at = ?, end_reason = ?"
            " WHERE id = ? AND state != 'ended'",
            (at, reason, teaching_id),
        )

    async def attended(self, teaching_id: int, user_id: int, role: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO teaching_attendance (session_id, user_id, role, joined_at)"
            " VALUES (?, ?, ?, ?)",
            (teaching_id, user_id, role, at),
        )

    async def left(self, teaching_id: int, user_id: int, at: float) -> None:
        """Close the viewer's open seats taken before ``at`` (one taken since, on another
        node, while this one waited for them to come back, stays open)."""
        await self.db.execute(
            "UPDATE teaching_attendance SET left_at = ? WHERE session_id = ? AND user_id = ?"
            " AND left_at IS NULL AND joined_at <= ?",
            (at, teaching_id, user_id, at),
        )

    async def ask(self, teaching_id: int, author_id: int, text: str, at: float) -> dict[str, Any]:
        """Keep a viewer's question; it as the room is told it."""
        async with self.db.atomic() as tx:
            question_id = await tx.insert(
                "INSERT INTO teaching_questions (session_id, author_id, text, asked_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (teaching_id, author_id, text, at),
            )
            row = await tx.fetch_one(f"{_QUESTION} WHERE q.id = ?", (question_id,))
        assert row is not None
        return _question(row)

    async def answer(
        self, teaching_id: int, question_id: int, by: int, at: float
    ) -> dict[str, Any] | None:
        """Mark a question of this session answered (None: no such question here)."""
        async with self.db.atomic() as tx:
            await tx.execute(
                "UPDATE teaching_questions SET answered_at = ?, answered_by = ?"
                " WHERE id = ? AND session_id = ? AND answered_at IS NULL",
                (at, by, question_id, teaching_id),
            )
            row = await tx.fetch_one(
                f"{_QUESTION} WHERE q.id = ? AND q.session_id = ?", (question_id, teaching_id)
            )
        return None if row is None else _question(row)

    async def questions(self, teaching_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetch_all(
            f"{_QUESTION} WHERE q.session_id = ? ORDER BY q.id", (teaching_id,)
        )
        return [_question(r) for r in rows]

    async def figures(
        self, group: str, sessions: str, params: list[Any]
    ) -> dict[str, tuple[int, int]]:
        """(sessions, distinct viewers) per group. The caller selects: ``group`` and
        ``sessions`` are its SQL over session ``t``, its host ``u`` and their facility
        ``f``."""
        rows = await self.db.fetch_all(
            f"SELECT {group} AS k, COUNT(DISTINCT t.id) AS sessions,"
            " COUNT(DISTINCT a.session_id || ':' || a.user_id) AS viewers"
            " FROM teaching_sessions t JOIN users u ON u.id = t.host_id"
            " JOIN facilities f ON f.id = u.facility_id"
            " LEFT JOIN teaching_attendance a ON a.session_id = t.id AND a.role = 'viewer'"
            f" WHERE {sessions} GROUP BY 1",
            params,
        )
        return {str(r["k"]): (int(r["sessions"] or 0), int(r["viewers"] or 0)) for r in rows}
