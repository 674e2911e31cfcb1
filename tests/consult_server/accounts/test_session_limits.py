"""Logins fit a shared reception PC: a browser-session cookie, an idle limit, an
absolute one, a new login ending the previous one, and an expired login's sockets
closed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from consult_server.accounts.login_sessions import LOGIN_SESSIONS
from consult_server.app import end_expired_logins
from consult_server.store.db import DB
from tests.consult_server.test_cli import cli
from tests.signaling.test_socket_api import until
from tests.support.inproc import Client, Harness, anonymous_login, listen
from tests.support.server import DEMO_PASSWORD


async def _signed_in(harness: Harness, client: Client) -> bool:
    response = await client.get("/")
    return bool(response.status == 200)


async def test_the_cookie_ends_with_the_browser(harness: Harness) -> None:
    submitted = await anonymous_login(harness.base, "clinician.demo", DEMO_PASSWORD)
    cookie = submitted.set_cookie.lower()
    assert "consult_session=" in cookie
    assert "max-age" not in cookie and "expires" not in cookie


async def test_idle_and_absolute_limits(harness: Harness) -> None:
    db = harness.app[DB]
    idle = await harness.login("clinician.demo")
    assert await _signed_in(harness, idle)
    await db.execute("UPDATE login_sessions SET expires_at = ?", (time.time() - 1,))
    assert not await _signed_in(harness, idle)

    old = await harness.login("specialist.demo")
    # Active all along (expiry ahead) but begun 13 hours ago: past the 12-hour limit.
    await db.execute(
        "UPDATE login_sessions SET created_at = ?, expires_at = ?",
        (time.time() - 13 * 3600, time.time() + 600),
    )
    assert not await _signed_in(harness, old)


async def test_asking_when_it_ends_is_not_a_use_and_keepalive_is(harness: Harness) -> None:
    client = await harness.login("clinician.demo")
    db = harness.app[DB]
    soon = time.time() + 100
    await db.execute("UPDATE login_sessions SET expires_at = ?", (soon,))
    status, body = await client.api("GET", "/api/session")
    assert status == 200 and abs(body["expires_at"] - soon) < 1e-3
    status, body = await client.api("POST", "/api/session/keepalive")
    assert status == 200 and body["expires_at"] > time.time() + 29 * 60


async def test_a_new_login_ends_the_previous_one(harness: Harness) -> None:
    """The next person at the PC signs in over the last one's login."""
    first = await harness.login("clinician.demo")
    old_cookie = first.cookie_header()
    sio, _ = await listen(first)
    async with first.session.post(
        harness.base + "/login",
        data={
            "username": "specialist.demo",
            "password": DEMO_PASSWORD,
            "csrf_token": first.csrf,
        },
        allow_redirects=False,
    ) as response:
        assert response.status == 302
    assert first.cookie_header() != old_cookie
    await until(lambda: not sio.connected)
    rows = await harness.app[DB].fetch_all("SELECT user_id FROM login_sessions")
    assert len(rows) == 1  # replaced, not added to


async def test_an_expired_logins_sockets_close(harness: Harness) -> None:
    client = await harness.login("clinician.demo")
    sio, _ = await listen(client)
    ended: list[object] = []
    sio.on("session:ended", ended.append)
    await harness.app[DB].execute("UPDATE login_sessions SET expires_at = ?", (time.time() - 1,))
    await end_expired_logins(harness.app)
    await until(lambda: not sio.connected)
    assert ended == [{"reason": "idle"}], "unused too long (not past its lifetime)"
    assert await harness.app[LOGIN_SESSIONS].purge_expired() == []
    # A login past its lifetime, however used, ends as "expired".
    again = await harness.login("clinician.demo")
    sio, _ = await listen(again)
    ended.clear()
    sio.on("session:ended", ended.append)
    await harness.app[DB].execute("UPDATE login_sessions SET created_at = ?", (1.0,))
    await end_expired_logins(harness.app)
    await until(lambda: not sio.connected)
    assert ended == [{"reason": "expired"}]


async def test_a_deactivated_account_is_signed_out_everywhere(
    harness: Harness, tmp_path: Path, database: dict[str, Any]
) -> None:
    client = await harness.login("specialist.demo")
    sio, _ = await listen(client)
    done = cli(
        tmp_path,
        "deactivate-user",
        "specialist.demo",
        database_url=database.get("database.url", ""),
    )
    assert done.returncode == 0, done.stderr
    await end_expired_logins(harness.app)  # the ticker's next round
    await until(lambda: not sio.connected)
    assert not await _signed_in(harness, client)
    status, _ = await _login_status(harness, "specialist.demo")
    assert status == 401
    again = cli(
        tmp_path,
        "deactivate-user",
        "specialist.demo",
        database_url=database.get("database.url", ""),
    )
    assert again.returncode == 1 and "no active account" in again.stderr


async def _login_status(harness: Harness, username: str) -> tuple[int, str]:
    submitted = await anonymous_login(harness.base, username, DEMO_PASSWORD)
    return submitted.status, submitted.text
