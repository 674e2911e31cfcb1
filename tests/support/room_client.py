"""A participant in a consult room played by python-socketio + an aiortc peer, the way
the browser does it: the room page's join token, ``room:join``, then ``room:offer``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import socketio

from tests.support.consult_requests import request_body
from tests.support.inproc import Client
from tests.support.peers import ClientPeer

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
    page = await (await client.get(f"/consults/{consult_id}/room")).text()
    match = _TOKEN.search(page)
    assert match, "room page without a join token"
    token = match.group(1)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base, headers={"Cookie": client.cookie_header()}, transports=["websocket"])
    assert (await sio.call("room:join", {"token": token}))["ok"]
    answer = await sio.call(
        "room:offer", {"token": token, "type": "offer", "sdp": await peer.offer()}, timeout=20
    )
    assert answer.get("ok"), answer
    await peer.accept(answer["sdp"])
    return InRoom(sio, token, peer)
