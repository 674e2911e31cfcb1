"""An offer sent with the room's join (one round trip less on a slow link): answered in
the join's reply with the pictures crossing; a malformed one refuses the join and
changes nothing; one the media server refuses leaves the join standing, its error in
the reply, and the page's own offer afterwards works. The room page carries what the
offer is built with before the join (ICE, pairs, layers), and comes gzip'd."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import socketio

from tests.media.hostile_sdp import CHROMIUM_OFFER
from tests.signaling.test_socket_api import accepted_consult, until
from tests.support.inproc import Client, Harness
from tests.support.peers import ClientPeer, near
from tests.support.room_client import answer_for, room_page, room_socket

_CALL = re.compile(r'data-call="([^"]*)"')


async def join_with_offer(sio: socketio.AsyncClient, token: str, offer: Any) -> dict[str, Any]:
    reply: dict[str, Any] = await sio.call(
        "room:join", {"token": token, "offer": offer}, timeout=30
    )
    return reply


def clinician_present(reply: dict[str, Any]) -> set[bool]:
    return {p["present"] for p in reply["room"]["participants"] if p["role"] == "clinician"}


async def open_room(harness: Harness, who: Client, consult_id: int) -> tuple[Any, str, str]:
    _, token = await room_page(who, f"/consults/{consult_id}/room")
    reply = await who.get(f"/consults/{consult_id}/room")
    # It reflects nothing of its request, so it may go compressed (the way in on Edge).
    assert reply.headers.get("Content-Encoding") == "gzip"
    return await room_socket(harness.base, who, token), token, await reply.text()


async def test_an_offer_with_the_join_is_answered_and_the_pictures_cross(
    harness: Harness,
) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    red, blue = (200, 30, 30), (30, 30, 200)
    peers = {"clinician": ClientPeer(red), "specialist": ClientPeer(blue)}
    sockets = []
    try:
        for name, who in (("clinician", clinician), ("specialist", specialist)):
            sio, token, page = await open_room(harness, who, consult_id)
            sockets.append(sio)
            # The page says what the join will say, so its offer can go with the join.
            found = _CALL.search(page)
            assert found, "the room page carries its call hint"
            hint = json.loads(html.unescape(found.group(1)))
            assert hint == {
                "ice": {"ice_servers": [], "policy": "all"},
                "pairs": 1,
                "simulcast": False,
            }
            peer = peers[name]
            reply = await join_with_offer(sio, token, {"type": "offer", "sdp": await peer.offer()})
            assert reply["ok"], reply
            assert reply["ice"] == hint["ice"] and reply["simulcast"] is False
            assert reply["answer"]["type"] == "answer"
            await peer.accept(reply["answer"]["sdp"])
        # Each sees the other's picture.
        await until(lambda: near(peers["clinician"].centre_colour(), blue), within=15)
        await until(lambda: near(peers["specialist"].centre_colour(), red), within=15)
    finally:
        for sio in sockets:
            await sio.disconnect()
        for peer in peers.values():
            await peer.close()


async def test_a_malformed_offer_refuses_the_join_and_changes_nothing(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    sio, token, _ = await open_room(harness, clinician, consult_id)
    other, other_token, _ = await open_room(harness, specialist, consult_id)
    try:
        malformed: list[Any] = [
            {"type": "answer", "sdp": CHROMIUM_OFFER},
            {"type": "offer", "sdp": "x"},
            "v=0",
        ]
        for bad in malformed:
            reply = await join_with_offer(sio, token, bad)
            assert reply["error"]["code"] in {"bad_sdp", "bad_payload"}, reply
        # The clinician never came in: the specialist joins a room where they are absent.
        reply = await other.call("room:join", {"token": other_token}, timeout=30)
        assert reply["ok"] and reply["room"]["state"] == "waiting"
        assert clinician_present(reply) == {False}
    finally:
        await sio.disconnect()
        await other.disconnect()


async def test_an_offer_the_media_server_refuses_leaves_the_join_standing(
    harness: Harness,
) -> None:
    clinician, _, consult_id = await accepted_consult(harness)
    sio, token, _ = await open_room(harness, clinician, consult_id)
    peer = ClientPeer((200, 30, 30))
    try:
        image = CHROMIUM_OFFER.replace("m=audio", "m=image", 1)
        reply = await join_with_offer(sio, token, {"type": "offer", "sdp": image})
        assert reply["ok"], reply
        assert "answer" not in reply and reply["offer_error"]["code"] == "bad_sdp"
        assert clinician_present(reply) == {True}
        # The page then offers on its own, as before.
        await peer.accept(await answer_for(sio, token, await peer.offer()))
    finally:
        await sio.disconnect()
        await peer.close()


async def test_offers_sent_with_joins_count_against_the_socket_s_offers(harness: Harness) -> None:
    """Six offers in ten seconds a socket, sent alone or with joins: the seventh join still
    seats its sender, its offer is refused as rate_limited, and an offer sent alone then
    is refused too."""
    clinician, _, consult_id = await accepted_consult(harness)
    sio, token, _ = await open_room(harness, clinician, consult_id)
    peers = []
    try:
        for n in range(7):
            peer = ClientPeer((200, 30, 30))
            peers.append(peer)
            reply = await join_with_offer(sio, token, {"type": "offer", "sdp": await peer.offer()})
            assert reply["ok"], reply
            if n < 6:
                assert "answer" in reply, (n, reply)
            else:
                assert "answer" not in reply and reply["offer_error"]["code"] == "rate_limited"
                assert clinician_present(reply) == {True}
        alone = await sio.call(
            "room:offer", {"token": token, "type": "offer", "sdp": await peers[-1].offer()}
        )
        assert alone["error"]["code"] == "rate_limited"
    finally:
        await sio.disconnect()
        for peer in peers:
            await peer.close()
