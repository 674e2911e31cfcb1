"""Server-side login sessions: the cookie holds a random token, the store its hash.

A stolen database does not yield usable cookies; each session carries its own CSRF
token, which forms and API calls echo back.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from aiohttp.web import AppKey

from consult_server.accounts.models import LoginSession
from consult_server.accounts.repository import AccountRepository

COOKIE_NAME = "consult_session"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_id(token: str) -> str:
    """A name for a login session that is not its cookie (sockets are grouped by it)."""
    return _digest(token)[:32]


class LoginSessions:
    """Each login ends after ``idle`` seconds without use and ``lifetime`` seconds after
    it began, whichever comes first."""

    def __init__(
        self, store: AccountRepository, lifetime_seconds: float, idle_seconds: float
    ) -> None:
        self.store = store
        self.lifetime = lifetime_seconds
        self.idle = min(idle_seconds, lifetime_seconds)

    async def create(self, user_id: int) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = LoginSession(
            user_id, secrets.token_urlsafe(32), now + self.idle, now + self.lifetime
        )
        await self.store.open_login(_digest(token), session, now)
        return token, session

    async def get(self, token: str) -> LoginSession | None:
        if not token or len(token) > 128:
            return None
        return await self.store.login(_digest(token), time.time(), self.lifetime)

    def due_for_touch(self, login: LoginSession, now: float) -> bool:
        """Used again: worth writing down (at most once a minute per login)."""
        return login.expires_at < min(now + self.idle, login.ends_at) - 60

    async def touch(self, token: str, login: LoginSession) -> float:
        """Slide the idle expiry forward (never past the absolute end); the new expiry."""
        until = min(time.time() + self.idle, login.ends_at)
        await self.store.extend_login(_digest(token), until)
        return until

    async def lock(self, token: str, locked: bool) -> None:
        """Lock the login's screen, or unlock it (the caller checked the password)."""
        await self.store.lock_login(_digest(token), time.time() if locked else None)

    async def delete(self, token: str) -> None:
        await self.store.close_login(_digest(token))

    async def purge_expired(self) -> list[tuple[str, str]]:
        """Forget expired logins; the ``login_id`` of each (their sockets close) and
        why it ended ("idle", "expired", "deactivated")."""
        ended = await self.store.purge_logins(time.time(), self.lifetime)
        return [(token_hash[:32], why) for token_hash, why in ended]


LOGIN_SESSIONS: AppKey[LoginSessions] = AppKey("login_sessions")
