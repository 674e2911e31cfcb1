"""The pre-join connection test at the edge: the ICE configuration a page tests with,
and the server's answer to its offer (one data channel that the server echoes,
``media/probe.py``). Any holder of a valid join token may test, before joining."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from media.probe import LinkProbes
from signaling.edge import Ack, RoomEdge
from signaling.messages import JoinMessage, OfferMessage
from signaling.tokens import JoinClaims


class ConnectionTests:
    def __init__(
        self,
        edge: RoomEdge,
        probes: LinkProbes,
        ice: Callable[[JoinClaims], dict[str, Any]],
    ) -> None:
        self.edge = edge
        self.probes = probes
        self._ice = ice

    async def on_ice(self, sid: str, data: object = None) -> Ack:
        """The ICE configuration for a connection test before joining."""

        async def act() -> Ack:
            claims = await self.edge.claims(sid, JoinMessage.parse(data).token)
            return {"ok": True, "ice": self._ice(claims)}

        return await self.edge.guard(sid, act)

    async def on_probe(self, sid: str, data: object = None) -> Ack:
        """Answer a connection test's offer."""

        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self.edge.claims(sid, message.token)
            answer = await self.probes.answer(claims.user_id, message.sdp)
            socket_session = await self.edge.sio.get_session(sid)
            socket_session["probing"] = True
            return {"ok": True, "type": "answer", "sdp": answer}

        return await self.edge.guard(sid, act)

    async def socket_lost(self, user_id: int) -> None:
        await self.probes.close(user_id)
