"""A room entered without a browser (tests and benchmarks), the way the page does it: the
room page's socket place and join token, a room socket opened with them, ``room:join``,
then a peer's ``room:offer`` answered; and a consult participant built from those."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio

from tests.support.consult_requests import request_body
from tests.support.inproc import Client
from tests.support.peers import ClientPeer

_SOCKET = re.compile(r'data-socket="([^"]*)"')
_TOKEN = re.compile(r'data-join-token="([^"]+)"')

REQUEST = request_body("Ho kéo dài", consent=True)


@dataclass
class InRoom:
    sio: socketio.AsyncClient
    token: str
    peer: ClientPeer

    async def leave(self) -> None:
        await self.sio.call("room:leave", {"token": self.token})
        await self.sio.disconnect()
        await self.peer.close()


async def accepted_consult(clinician: Client, specialist: Client) -> int:
    """A consult filed with the patient's consent and accepted."""
    status, body = await clinician.api("POST", "/api/consults", REQUEST)
    assert status == 201, body
    consult_id = int(body["consult"]["id"])
    status, body = await specialist.api("POST", f"/api/consults/{consult_id}/accept")
    assert status == 200, body
    return consult_id


async def join(base: str, client: Client, consult_id: int, peer: ClientPeer) -> InRoom:
    _, token = await room_page(client, f"/consults/{consult_id}/room")
    sio = await room_socket(base, client, token)
    await join_room(sio, token)
    await peer.accept(await answer_for(sio, token, await peer.offer()))
    return InRoom(sio, token, peer)


async def room_page(
    client: Client, path: str, new_connection: bool = False
) -> tuple[dict[str, Any], str]:
    """Where the room page at ``path`` says its socket is, and its join token.
    ``new_connection``: fetched on a connection of its own (on ``serve --processes``
    the kernel may then give it to any process)."""
    if new_connection:
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(
                client.base + path,
                headers={"Cookie": client.cookie_header()},
                allow_redirects=False,
            ) as reply,
        ):
            assert reply.status == 200, reply.status
            page = await reply.text()
    else:
        reply = await client.get(path)
        assert reply.status == 200, reply.status
        page = await reply.text()
    place, token = _SOCKET.search(page), _TOKEN.search(page)
    assert place and token, "a room page without its socket place or join token"
    return json.loads(html.unescape(place.group(1))), token.group(1)


async def room_socket(url: str, client: Client, token: str) -> socketio.AsyncClient:
    """A room socket at ``url``, opened as the page opens it (login cookie, join token)."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        url,
        headers={"Cookie": client.cookie_header()},
        auth={"join_token": token},
        transports=["websocket"],
    )
    return sio


async def join_room(sio: socketio.AsyncClient, token: str) -> dict[str, Any]:
    reply: dict[str, Any] = await sio.call("room:join", {"token": token}, timeout=30)
    assert reply.get("ok"), reply
    return reply


async def answer_for(
    sio: socketio.AsyncClient, token: str, sdp: str, event: str = "room:offer"
) -> str:
    """The server's answer to a peer's offer (``event``: "room:screen" for a screen)."""
    reply = await sio.call(event, {"token": token, "type": "offer", "sdp": sdp}, timeout=30)
    assert reply.get("ok"), reply
    return str(reply["sdp"])
