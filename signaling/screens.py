"""A presenter's shared screen (slides, an ECG, the image viewer): a second picture of
theirs in a room whose kind allows it (``RoomPorts.screens``: teaching sessions).

The page sends the screen on a peer connection of its own (``room:screen``, an offer like
``room:offer``). On the media hub the screen is one more publisher, under the id
``screen_id(user)``: it is forwarded like a camera (its own bitrate cap and key-frame
requests, no sound) and every page receives it after the people (``media_order``).
It stops when the presenter stops it (``room:screen_stop``, or the browser's own "stop
sharing"), leaves or loses their seat, or when its link is lost; a presenter's page
that comes back after a drop sends it again.
"""

from __future__ import annotations

import time

from media.hub import MediaHub
from signaling.edge import Ack, RoomEdge
from signaling.messages import BadMessage, JoinMessage, OfferMessage
from signaling.room_state import RoomPresence, screen_id


class Screens:
    def __init__(self, edge: RoomEdge, media: MediaHub) -> None:
        self.edge = edge
        self.media = media

    async def on_start(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            ports, number = self.edge.kind(claims.room)
            if not ports.screens:
                raise BadMessage("screens_unavailable", "this room takes no shared screens")
            room = self.edge.rooms.get(claims.room)
            if room is None or claims.user_id not in room.publishers:
                raise BadMessage("not_presenter", "only the presenters share a screen")
            answer = await self.media.handle_offer(
                claims.room, screen_id(claims.user_id), message.sdp, receive_from=[]
            )
            presence = self.edge.presence.setdefault(claims.room, RoomPresence())
            if claims.user_id not in presence.screens:
                presence.screens.add(claims.user_id)
                await ports.rooms.event(number, claims.user_id, "screen_on", time.time())
            await self.edge.emit_state(claims.room)
            return {"ok": True, "type": "answer", "sdp": answer}

        return await self.edge.guard(sid, act)

    async def on_stop(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self.edge.joined(sid, JoinMessage.parse(data).token)
            await self.stop(claims.room, claims.user_id)
            return {"ok": True}

        return await self.edge.guard(sid, act)

    async def stop(self, key: str, user_id: int) -> None:
        """The presenter's screen, if shared, stops, and everyone is told."""
        await self.media.leave(key, screen_id(user_id))
        presence = self.edge.presence.get(key)
        if presence is None or user_id not in presence.screens:
            return
        presence.screens.discard(user_id)
        ports, number = self.edge.kind(key)
        await ports.rooms.event(number, user_id, "screen_off", time.time())
        await self.edge.emit_state(key)
