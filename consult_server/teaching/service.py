"""Teaching sessions: a specialist hosts (with an optional co-presenter), anyone
signed in watches without sending media. Attendance is recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.models import Role, User
from consult_server.errors import BadRequest, Forbidden, NotFound
from consult_server.store.db import Database

TITLE_MAX = 200


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


class Teaching:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, host: User, payload: object) -> TeachingSession:
        if host.role is not Role.SPECIALIST:
            raise Forbidden("only specialists host teaching sessions", "wrong_role")
        if not isinstance(payload, dict):
            raise BadRequest("expected a JSON object", "bad_payload")
        title = payload.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
            raise BadRequest("a title of up to 200 characters is required", "bad_title")
        co_presenter = payload.get("co_presenter")
        co_id = None
        if co_presenter:
            row = await self.db.fetch_one(
                "SELECT id FROM users WHERE username = ? AND role = 'specialist' AND active = 1",
                (str(co_presenter)[:64],),
            )
            if row is None or int(row["id"]) == host.id:
                raise BadRequest("the co-presenter must be another specialist", "bad_co_presenter")
            co_id = int(row["id"])
        new_id = await self.db.insert(
            "INSERT INTO teaching_sessions (title, host_id, co_presenter_id, state, created_at)"
            " VALUES (?, ?, ?, 'open', ?) RETURNING id",
            (title.strip(), host.id, co_id, time.time()),
        )
        return await self.get(new_id)

    async def get(self, session_id: int) -> TeachingSession:
        row = await self.db.fetch_one("SELECT * FROM teaching_sessions WHERE id = ?", (session_id,))
        if row is None:
            raise NotFound("no such teaching session", "teaching_not_found")
        return TeachingSession(
            row["id"], row["title"], row["host_id"], row["co_presenter_id"], row["state"]
        )

    async def listing(self) -> list[dict[str, Any]]:
        rows = await self.db.fetch_all(
            "SELECT t.id, t.title, t.state, t.created_at, h.display_name AS host,"
            " f.name AS facility, c.display_name AS co_presenter FROM teaching_sessions t"
            " JOIN users h ON h.id = t.host_id JOIN facilities f ON f.id = h.facility_id"
            " LEFT JOIN users c ON c.id = t.co_presenter_id"
            " WHERE t.state != 'ended' ORDER BY t.created_at DESC LIMIT 50"
        )
        return [dict(row) for row in rows]


TEACHING: AppKey[Teaching] = AppKey("teaching")
