"""Chat in a consult's room: said over the socket, kept with the consult, sent to
everyone in the room, shown again from the record; bad lines refused, nothing kept."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from consult_server.store.db import DB
from signaling.messages import MAX_CHAT
from tests.signaling.test_socket_api import (
    accepted_consult,
    collect,
    connect,
    token_for,
    until,
    user_id,
)
from tests.support.inproc import Harness


async def _in_room(
    harness: Harness, client: Any, username: str, consult_id: int, role: str
) -> tuple[socketio.AsyncClient, str]:
    token = token_for(harness, await user_id(harness, username), consult_id, role)
    sio = await connect(harness, client, auth={"join_token": token})
    reply = await sio.call("room:join", {"token": token}, timeout=10)
    assert reply.get("ok"), reply
    return sio, token


async def test_a_line_reaches_the_room_and_stays_with_the_consult(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    clinician_io, clinician_token = await _in_room(
        harness, clinician, "clinician.demo", consult_id, "clinician"
    )
    specialist_io, _ = await _in_room(
        harness, specialist, "specialist.demo", consult_id, "specialist"
    )
    heard = collect(specialist_io, "room:chat")
    try:
        said = "<b>Huyết áp 90/60</b>\r\nMạch 120"
        reply = await clinician_io.call(
            "room:chat", {"token": clinician_token, "text": f"  {said}  "}, timeout=10
        )
        assert reply["ok"] and reply["message"]["text"] == "<b>Huyết áp 90/60</b>\nMạch 120"
        await until(lambda: len(heard) == 1)
        assert heard[0]["text"] == "<b>Huyết áp 90/60</b>\nMạch 120"
        assert heard[0]["author"] == "BS. Nguyễn Văn An"
        assert heard[0]["id"] == reply["message"]["id"]

        # Refused lines keep nothing, and say why.
        for text, code in [
            ("   ", "chat_empty"),
            ("x" * (MAX_CHAT + 1), "chat_too_long"),
            ("a\x00b", "chat_bad_text"),
            (42, "chat_empty"),
        ]:
            refused = await clinician_io.call(
                "room:chat", {"token": clinician_token, "text": text}, timeout=10
            )
            assert refused["error"]["code"] == code, text
        refused = await clinician_io.call("room:chat", {"text": "hi"}, timeout=10)
        assert refused["error"]["code"] == "token_missing"

        # The record, for the participants (after a reconnect, a rejoin) and no one else.
        for client in (clinician, specialist):
            status, body = await client.api("GET", f"/api/consults/{consult_id}/messages")
            assert status == 200
            assert [m["text"] for m in body["messages"]] == ["<b>Huyết áp 90/60</b>\nMạch 120"]
        outsider = await harness.login("clinician2.demo")
        status, body = await outsider.api("GET", f"/api/consults/{consult_id}/messages")
        assert (status, body["error"]["code"]) == (404, "consult_not_found")
        rows = await harness.app[DB].fetch_all("SELECT body FROM consult_messages")
        assert [r["body"] for r in rows] == ["<b>Huyết áp 90/60</b>\nMạch 120"]
    finally:
        await clinician_io.disconnect()
        await specialist_io.disconnect()


async def test_a_socket_not_in_the_room_cannot_write_and_a_flood_is_cut(
    harness: Harness,
) -> None:
    clinician, _, consult_id = await accepted_consult(harness)
    token = token_for(harness, await user_id(harness, "clinician.demo"), consult_id, "clinician")
    sio = await connect(harness, clinician, auth={"join_token": token})
    try:
        refused = await sio.call("room:chat", {"token": token, "text": "hi"}, timeout=10)
        assert refused["error"]["code"] == "not_joined"
        assert (await sio.call("room:join", {"token": token}, timeout=10)).get("ok")
        replies = [
            await sio.call("room:chat", {"token": token, "text": f"dòng {n}"}, timeout=10)
            for n in range(12)
        ]
        codes = [r.get("error", {}).get("code", "ok") for r in replies]
        # Ten messages per ten seconds, the refused one before joining among them.
        assert codes == ["ok"] * 9 + ["rate_limited"] * 3
    finally:
        await sio.disconnect()
    rows = await harness.app[DB].fetch_all("SELECT COUNT(*) AS n FROM consult_messages")
    assert rows[0]["n"] == 9


@pytest.mark.parametrize("payload", [None, "text", ["a"], {"token": 5, "text": "x"}])
async def test_malformed_chat_messages_are_refused(harness: Harness, payload: Any) -> None:
    clinician, _, _ = await accepted_consult(harness)
    sio = await connect(harness, clinician)
    try:
        reply = await sio.call("room:chat", payload, timeout=10)
        assert "error" in reply
    finally:
        await sio.disconnect()
