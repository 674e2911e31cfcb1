"""Teaching sessions over the real app: specialists host, anyone signed in watches."""

from __future__ import annotations

import time

from consult_server.config import CONFIG
from consult_server.store.db import DB
from signaling.tokens import JoinClaims, sign_join_token
from tests.signaling.test_socket_api import connect, user_id
from tests.support.inproc import Harness


def token(harness: Harness, user: int, session: int, role: str) -> str:
    config = harness.app[CONFIG]
    claims = JoinClaims(user, f"teaching:{session}", role, time.time() + 60)
    return sign_join_token(config.secret_bytes(), claims)


async def test_a_specialist_hosts_and_clinicians_watch_without_publishing(
    harness: Harness,
) -> None:
    host = await harness.login("specialist.central")
    viewer = await harness.login("clinician2.demo")
    status, body = await viewer.api("POST", "/api/teaching", {"title": "Đọc điện tim"})
    assert (status, body["error"]["code"]) == (403, "wrong_role")
    status, body = await host.api("POST", "/api/teaching", {"title": " "})
    assert (status, body["error"]["code"]) == (400, "bad_title")
    status, body = await host.api(
        "POST", "/api/teaching", {"title": "Đọc điện tim", "co_presenter": "specialist.demo"}
    )
    assert status == 201
    session = body["id"]
    _, listing = await viewer.api("GET", "/api/teaching")
    assert [s["title"] for s in listing["sessions"]] == ["Đọc điện tim"]
    page = await viewer.get(f"/teaching/{session}/room")
    assert page.status == 200 and 'data-publish="false"' in await page.text()
    page = await host.get(f"/teaching/{session}/room")
    assert 'data-publish="true"' in await page.text()

    host_id = await user_id(harness, "specialist.central")
    viewer_id = await user_id(harness, "clinician2.demo")
    host_token = token(harness, host_id, session, "presenter")
    viewer_token = token(harness, viewer_id, session, "viewer")
    host_io = await connect(harness, host, {"join_token": host_token})
    viewer_io = await connect(harness, viewer, {"join_token": viewer_token})
    try:
        reply = await viewer_io.call("room:join", {"token": viewer_token})
        assert reply["room"]["state"] == "waiting", "viewers alone do not start it"
        assert viewer_id not in reply["room"]["publishers"]
        reply = await host_io.call("room:join", {"token": host_token})
        assert reply["room"]["state"] == "active" and reply["room"]["viewers"] == 1
        assert host_id in reply["room"]["publishers"] and len(reply["room"]["publishers"]) == 2
    finally:
        await viewer_io.disconnect()
        await host_io.disconnect()
    db = harness.app[DB]
    session = await db.fetch_one("SELECT state FROM teaching_sessions")
    assert session is not None and session["state"] in ("live", "ended")
    roles = sorted(r["role"] for r in await db.fetch_all("SELECT role FROM teaching_attendance"))
    assert roles == ["presenter", "viewer"]
