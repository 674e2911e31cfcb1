"""The socket edge under attack (issue 11): who may open a session, what a broken
packet costs, and that every media message is answered, over the real app."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest
import socketio

from consult_server.consults.service import CONSULTS
from consult_server.store.db import DB
from signaling.event_limits import EVENT_LIMITS
from signaling.handlers import SIGNALING
from tests.media.hostile_sdp import CHROMIUM_OFFER
from tests.signaling.test_socket_api import accepted_consult, connect, token_for, user_id
from tests.support.inproc import Harness

HANDSHAKE = "/socket.io/?EIO=4&transport="


async def test_no_engine_io_session_opens_without_a_login(harness: Harness) -> None:
    """Before: 20 sessions opened without signing in were all still open 150 s later."""
    server = harness.app[SIGNALING].sio
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            async with http.get(harness.base + HANDSHAKE + "polling") as reply:
                assert reply.status in (400, 401)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(harness.base + HANDSHAKE + "websocket")
            assert refused.value.status == 401
    assert server.eio.sockets == {}
    assert server.refused >= 20


async def test_the_polling_transport_is_refused_even_with_a_login(harness: Harness) -> None:
    """A polling session's id travels in URLs and access logs: with it alone a client
    once read someone else's updates. The server speaks WebSocket only."""
    clinician = await harness.login("clinician.demo")
    async with aiohttp.ClientSession() as http:
        headers = {"Cookie": clinician.cookie_header()}
        async with http.get(harness.base + HANDSHAKE + "polling", headers=headers) as reply:
            assert reply.status == 400
            assert "sid" not in await reply.text()
    assert harness.app[SIGNALING].sio.eio.sockets == {}


async def test_unreadable_packets_close_the_socket_and_log_within_a_budget(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: 2,000 malformed packets made 4,000 tracebacks (3.8 MB of log) in 2 s."""
    clinician = await harness.login("clinician.demo")
    server = harness.app[SIGNALING].sio
    caplog.set_level(logging.INFO)
    closed = 0
    async with aiohttp.ClientSession() as http:
        headers = {"Cookie": clinician.cookie_header()}
        for n in range(40):
            ws = await http.ws_connect(harness.base + HANDSHAKE + "websocket", headers=headers)
            await ws.receive()  # Engine.IO's open packet
            await ws.send_str("40")  # socket.io connect to "/"
            await ws.receive()
            await ws.send_str(["4x", "42[", "43abc", "4" + "[" * 500, "49"][n % 5])
            while not ws.closed:
                message = await ws.receive(timeout=5)
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
            closed += 1
            await ws.close()
    assert closed == 40
    assert server.unreadable == 40
    lines = [r for r in caplog.records if "unreadable packet" in r.getMessage()]
    assert 1 <= len(lines) <= 10
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("engineio")]
    assert not [r for r in caplog.records if "handler error" in r.getMessage()]


async def _joined_pair(
    harness: Harness,
) -> tuple[socketio.AsyncClient, socketio.AsyncClient, str, str, int]:
    clinician, specialist, consult_id = await accepted_consult(harness)
    a = await connect(harness, clinician)
    b = await connect(harness, specialist)
    ta = token_for(harness, await user_id(harness, "clinician.demo"), consult_id, "clinician")
    tb = token_for(harness, await user_id(harness, "specialist.demo"), consult_id, "specialist")
    assert (await a.call("room:join", {"token": ta}))["ok"]
    assert (await b.call("room:join", {"token": tb}))["ok"]
    return a, b, ta, tb, consult_id


async def test_an_offer_opening_with_m_image_is_refused_and_the_room_still_ends(
    harness: Harness,
) -> None:
    """Before: the offer wedged the room: the participant's leave was never answered
    and the consult stayed in session until the grace ended it."""
    a, b, ta, tb, consult_id = await _joined_pair(harness)
    offer = CHROMIUM_OFFER.replace("m=audio", "m=image", 1)
    reply = await a.call("room:offer", {"token": ta, "type": "offer", "sdp": offer}, timeout=10)
    assert reply["error"]["code"] == "bad_sdp"
    assert "image" in reply["error"]["message"]
    assert (await b.call("room:leave", {"token": tb}, timeout=5))["ok"]
    assert (await a.call("room:leave", {"token": ta}, timeout=5))["ok"]
    consults = harness.app[CONSULTS]
    deadline = time.monotonic() + 5
    while (await consults.get(consult_id)).state.value != "ended":
        assert time.monotonic() < deadline, "the room did not end when both left"
        await asyncio.sleep(0.05)
    assert harness.app[SIGNALING].media.stats() == {"rooms": 0, "peers": 0}
    for sio in (a, b):
        await sio.disconnect()


HOSTILE_CANDIDATES: list[object] = [
    None,
    {},
    {"candidate": ""},
    {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"},
    {"candidate": "candidate:1 1 udp 1 10.9.9.9 9 typ host", "sdpMid": "0"},
    {"candidate": "candidate:1 1 udp 1 x.local 9 typ host", "sdpMid": "0"},
    {"candidate": "candidate:1 1 udp 1 198.51.100.9 9 typ host", "sdpMid": "zz"},
    {"candidate": "candidate:1 1 udp 1 198.51.100.9 9 typ host", "sdpMLineIndex": 99},
    {"candidate": "candidate:1 1 udp 1 198.51.100.9"},
    {"candidate": "candidate:1 1 udp 1 198.51.100.9 99999 typ host"},
    {"candidate": "candidate:" + "9" * 1000},
    {"candidate": 7},
    "candidate:1 1 udp 1 198.51.100.9 9 typ host",
    [1, 2],
    12,
]


async def test_every_candidate_message_is_answered(harness: Harness) -> None:
    """Before: 239 of 600 mutated candidates got no answer at all."""
    a, b, ta, _tb, _ = await _joined_pair(harness)
    sent = 0
    for candidate in HOSTILE_CANDIDATES:
        reply = await a.call("room:candidate", {"token": ta, "candidate": candidate}, timeout=5)
        assert reply.get("ok") is True or reply["error"]["code"], reply
        sent += 1
    assert sent == len(HOSTILE_CANDIDATES)
    # A message of several arguments, or none, is answered too.
    for args in ((ta, ta), (), ({"token": ta}, 1, 2)):
        reply = await a.call("room:candidate", args, timeout=5)
        assert reply["error"]["code"], reply
    for sio in (a, b):
        await sio.disconnect()


async def test_an_event_flood_is_answered_rate_limited_and_writes_a_bounded_few_rows(
    harness: Harness,
) -> None:
    """Before: 2,000 room:media events in 0.29 s wrote 3,334 timeline rows."""
    a, b, ta, _tb, consult_id = await _joined_pair(harness)
    replies = await asyncio.gather(
        *(
            a.call("room:media", {"token": ta, "audio": n % 2 == 0, "video": True}, timeout=10)
            for n in range(300)
        )
    )
    codes = [r.get("error", {}).get("code", "ok") for r in replies]
    assert len(codes) == 300  # every one answered
    assert codes.count("ok") == EVENT_LIMITS["room:media"][0]
    assert codes.count("rate_limited") == 300 - EVENT_LIMITS["room:media"][0]
    rows = await harness.app[DB].fetch_all(
        "SELECT id FROM consult_events WHERE consult_id = ? AND kind LIKE 'room_audio_%'",
        (consult_id,),
    )
    assert len(rows) <= EVENT_LIMITS["room:media"][0]
    for sio in (a, b):
        await sio.disconnect()
