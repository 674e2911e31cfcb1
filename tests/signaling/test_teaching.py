"""Teaching sessions over the real app: specialists host, anyone signed in watches."""

from __future__ import annotations

import asyncio
import time

from consult_server.config import CONFIG
from consult_server.store.db import DB
from consult_server.teaching.service import TEACHING
from signaling.tokens import JoinClaims, sign_join_token
from tests.signaling.test_socket_api import (
    accepted_consult,
    collect,
    connect,
    token_for,
    until,
    user_id,
)
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


async def test_viewers_ask_and_the_presenter_marks_answered(harness: Harness) -> None:
    """A viewer's question reaches everyone in the room and stays with the session (a
    late joiner gets the list); only a presenter marks it answered; a consult's room
    takes no questions."""
    host = await harness.login("specialist.central")
    viewer = await harness.login("clinician2.demo")
    status, body = await host.api("POST", "/api/teaching", {"title": "Đọc X-quang ngực"})
    assert status == 201
    session = body["id"]
    host_id = await user_id(harness, "specialist.central")
    viewer_id = await user_id(harness, "clinician2.demo")
    host_token = token(harness, host_id, session, "presenter")
    viewer_token = token(harness, viewer_id, session, "viewer")
    host_io = await connect(harness, host, {"join_token": host_token})
    viewer_io = await connect(harness, viewer, {"join_token": viewer_token})
    heard = collect(host_io, "room:question")
    try:
        await host_io.call("room:join", {"token": host_token})
        await viewer_io.call("room:join", {"token": viewer_token})
        asked = await viewer_io.call(
            "room:ask", {"token": viewer_token, "text": "  Dấu hiệu bóng mờ là gì?  "}
        )
        assert asked["ok"] and asked["question"]["text"] == "Dấu hiệu bóng mờ là gì?"
        assert asked["question"]["author"] == "YS. Trần Thị Bình"
        assert asked["question"]["answered"] is False
        await until(lambda: len(heard) == 1)
        question_id = asked["question"]["id"]
        refused = await viewer_io.call("room:answer", {"token": viewer_token, "id": question_id})
        assert refused["error"]["code"] == "not_presenter"
        refused = await host_io.call("room:answer", {"token": host_token, "id": 999})
        assert refused["error"]["code"] == "question_not_found"
        refused = await viewer_io.call("room:ask", {"token": viewer_token, "text": " "})
        assert refused["error"]["code"] == "chat_empty"
        answered = await host_io.call("room:answer", {"token": host_token, "id": question_id})
        assert answered["ok"] and answered["question"]["answered"] is True
        await until(lambda: len(heard) == 2 and heard[1]["answered"])
        listed = await viewer_io.call("room:questions", {"token": viewer_token})
        assert [(q["text"], q["answered"]) for q in listed["questions"]] == [
            ("Dấu hiệu bóng mờ là gì?", True)
        ]
    finally:
        await viewer_io.disconnect()
        await host_io.disconnect()
    rows = await harness.app[DB].fetch_all(
        "SELECT text, answered_by FROM teaching_questions WHERE session_id = ?", (session,)
    )
    assert [(r["text"], r["answered_by"]) for r in rows] == [("Dấu hiệu bóng mờ là gì?", host_id)]


async def test_a_consult_room_takes_no_questions(harness: Harness) -> None:
    clinician, _, consult_id = await accepted_consult(harness)
    consult_token = token_for(
        harness, await user_id(harness, "clinician.demo"), consult_id, "clinician"
    )
    sio = await connect(harness, clinician, {"join_token": consult_token})
    try:
        assert (await sio.call("room:join", {"token": consult_token}))["ok"]
        refused = await sio.call("room:ask", {"token": consult_token, "text": "Hỏi gì đó"})
        assert refused["error"]["code"] == "questions_unavailable"
    finally:
        await sio.disconnect()


async def test_a_seat_given_up_late_closes_only_the_seats_taken_before_it(
    harness: Harness,
) -> None:
    """A viewer whose socket dropped on one node and who watches again from another:
    when the first node gives the seat up (its grace over), it records them as left at
    the drop, and their seat on the other node stays open."""
    store = harness.app[TEACHING].store
    host = await harness.login("specialist.central")
    status, body = await host.api("POST", "/api/teaching", {"title": "Đọc điện tim"})
    assert status == 201
    session = int(body["id"])
    viewer = await user_id(harness, "clinician2.demo")
    await store.attended(session, viewer, "viewer", 100.0)  # on node A
    await store.attended(session, viewer, "viewer", 130.0)  # again on node B, after a drop at 120
    await store.left(session, viewer, 120.0)  # node A's grace is over
    rows = await harness.app[DB].fetch_all(
        "SELECT joined_at, left_at FROM teaching_attendance WHERE user_id = ? ORDER BY joined_at",
        (viewer,),
    )
    assert [(r["joined_at"], r["left_at"]) for r in rows] == [(100.0, 120.0), (130.0, None)]


async def test_a_burst_of_viewers_coming_and_going_is_one_message_each_way(
    harness: Harness,
) -> None:
    """The presenter hears of four viewers joining at once, then leaving at once, in a
    message or two each way, not one per viewer (at 5,000 viewers one each grew as the
    square of them), and the last state counts right."""
    host = await harness.login("specialist.central")
    _, body = await host.api("POST", "/api/teaching", {"title": "Siêu âm tim"})
    session = body["id"]
    host_token = token(harness, await user_id(harness, "specialist.central"), session, "presenter")
    host_io = await connect(harness, host, {"join_token": host_token})
    states = collect(host_io, "room:state")
    viewers = []
    try:
        await host_io.call("room:join", {"token": host_token})
        for name in ("clinician.demo", "clinician2.demo", "specialist.demo", "supervisor.demo"):
            client = await harness.login(name)
            viewer_token = token(harness, await user_id(harness, name), session, "viewer")
            viewers.append(
                (await connect(harness, client, {"join_token": viewer_token}), viewer_token)
            )
        await asyncio.sleep(0.7)  # the host's own join's state has come
        states.clear()
        await asyncio.gather(*(io.call("room:join", {"token": t}) for io, t in viewers))
        await until(lambda: bool(states) and states[-1]["viewers"] == 4, within=3)
        await asyncio.sleep(0.7)
        assert len(states) <= 2, [s["viewers"] for s in states]
        states.clear()
        await asyncio.gather(*(io.call("room:leave", {"token": t}) for io, t in viewers))
        await until(lambda: bool(states) and states[-1]["viewers"] == 0, within=3)
        await asyncio.sleep(0.7)
        assert len(states) <= 2, [s["viewers"] for s in states]
    finally:
        for io, _ in viewers:
            await io.disconnect()
        await host_io.disconnect()
