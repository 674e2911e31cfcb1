"""Server-side login sessions: the cookie holds a random token, the store its hash.

A stolen database does not yield usable cookies; each session carries its own CSRF
token, which forms and API calls echo back.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.store.db import Database

COOKIE_NAME = "consult_session"


@dataclass(frozen=True)
class LoginSession:
    user_id: int
    csrf_token: str
    expires_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSessions:
    def __init__(self, db: Database, lifetime_seconds: float) -> None:
        self.db = db
        self.lifetime = lifetime_seconds

    async def create(self, user_id: int) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = LoginSession(user_id, secrets.token_urlsafe(32), now + self.lifetime)
        await self.db.execute(
            "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (_digest(token), user_id, session.csrf_token, now, session.expires_at),
        )
        return token, session

    async def get(self, token: str) -> LoginSession | None:
        if not token or len(token) > 128:
            return None
        row = await self.db.fetch_one(
            "SELECT user_id, csrf_token, expires_at FROM login_sessions"
            " WHERE token_hash = ? AND expires_at > ?",
            (_digest(token), time.time()),
        )
        if row is None:
            return None
        return LoginSession(int(row["user_id"]), str(row["csrf_token"]), float(row["expires_at"]))

    async def touch(self, token: str) -> None:
        """Slide the expiry forward on activity."""
        await self.db.execute(
            "UPDATE login_sessions SET expires_at = ? WHERE token_hash = ?",
            (time.time() + self.lifetime, _digest(token)),
        )

    async def delete(self, token: str) -> None:
        await self.db.execute("DELETE FROM login_sessions WHERE token_hash = ?", (_digest(token),))

    async def purge_expired(self) -> None:
        await self.db.execute("DELETE FROM login_sessions WHERE expires_at <= ?", (time.time(),))


LOGIN_SESSIONS: AppKey[LoginSessions] = AppKey("login_sessions")
