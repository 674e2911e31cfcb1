"""The room's chat at the edge: a line is kept by the room's kind (its ``ChatKind``
port), then sent to everyone in the room. A kind without the port has no chat."""

from __future__ import annotations

import time

from signaling.edge import Ack, RoomEdge
from signaling.messages import BadMessage, ChatMessage


class Chat:
    def __init__(self, edge: RoomEdge) -> None:
        self.edge = edge

    async def on_chat(self, sid: str, data: object = None) -> Ack:
        """A chat line: kept with the room's consult, then sent to everyone in the room."""

        async def act() -> Ack:
            message = ChatMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            ports, number = self.edge.kind(claims.room)
            if ports.chat is None:
                raise BadMessage("chat_unavailable", "this room has no chat")
            line = await ports.chat.said(number, claims.user_id, message.text, time.time())
            await self.edge.tell(claims.room, "room:chat", line)
            return {"ok": True, "message": line}

        return await self.edge.guard(sid, act)
