"""Login sessions: the cookie's token is looked up by hash; expired ones are purged."""

from __future__ import annotations

import hashlib

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.login_sessions import LOGIN_SESSIONS
from consult_server.store.db import DB
from tests.support.inproc import Harness


async def test_expired_sessions_are_refused_and_purged(clock_harness: Harness) -> None:
    sessions = clock_harness.app[LOGIN_SESSIONS]
    db = clock_harness.app[DB]
    user = await clock_harness.app[ACCOUNTS].authenticate(
        "clinician.demo", "demo-password-for-tests"
    )
    assert user is not None
    live, _ = await sessions.create(user.id)
    old, _ = await sessions.create(user.id)
    stored = await db.fetch_all("SELECT token_hash FROM login_sessions")
    assert live not in {r["token_hash"] for r in stored}, "only the token's hash is stored"
    await db.execute(
        "UPDATE login_sessions SET expires_at = 0 WHERE token_hash = ?",
        (hashlib.sha256(old.encode()).hexdigest(),),
    )
    assert await sessions.get(old) is None
    await sessions.purge_expired()
    assert len(await db.fetch_all("SELECT 1 FROM login_sessions")) == 1
    assert (await sessions.get(live)) is not None
