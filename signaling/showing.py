""" "Show to everyone" at the edge: show, view updates, the pointer, stop showing.

The messages and the kept view are ``shared_view.py``'s; this module checks who may
present (a participant of the room), that view updates come from the one presenting
and not too fast, and relays each to the rest of the room.
"""

from __future__ import annotations

import time

from signaling.edge import Ack, RoomEdge
from signaling.event_limits import VIEWS
from signaling.messages import BadMessage, JoinMessage
from signaling.room_state import RoomPresence
from signaling.shared_view import PointerMessage, Presentation, ShowMessage, ViewMessage
from signaling.tokens import JoinClaims


class Showing:
    def __init__(self, edge: RoomEdge) -> None:
        self.edge = edge

    async def _presenter(self, sid: str, token: str) -> tuple[JoinClaims, RoomPresence]:
        edge = self.edge
        claims = await edge.joined(sid, token)
        ports, number = edge.kind(claims.room)
        allowed = (await ports.rooms.spec(number)).allowed
        room = edge.rooms.get(claims.room)
        may = (
            claims.user_id in allowed
            if allowed is not None
            else (room is not None and claims.user_id in room.publishers)
        )
        if not may:
            raise BadMessage("not_a_presenter", "only the room's participants can show images")
        return claims, edge.presence[claims.room]

    async def _check_files(self, room: str, files: tuple[int, ...]) -> None:
        """Every file shown is the room's: ids of another consult's files are refused
        (its pages would fetch them, and be refused, or worse, be allowed elsewhere)."""
        ports, number = self.edge.kind(room)
        if ports.files is None or not await ports.files.holds_files(number, frozenset(files)):
            raise BadMessage("file_not_in_room", "only this consult's files can be shown here")

    async def _presenting(self, sid: str, token: str) -> tuple[JoinClaims, Presentation]:
        """The sender is the one showing in its room, and not sending too fast."""
        claims, presence = await self._presenter(sid, token)
        shown = presence.shown
        if shown is None or shown.presenter != claims.user_id:
            raise BadMessage("not_presenting", "you are not showing anything")
        if not self.edge.event_limits.allow(sid, VIEWS, time.monotonic()):
            raise BadMessage("rate_limited", "too many view updates; send fewer")
        return claims, shown

    async def on_show(self, sid: str, data: object = None) -> Ack:
        """Show files to everyone in the room (taking over from whoever showed before)."""

        async def act() -> Ack:
            message = ShowMessage.parse(data)
            claims, presence = await self._presenter(sid, message.token)
            if not self.edge.event_limits.allow(sid, VIEWS, time.monotonic()):
                raise BadMessage("rate_limited", "too many views shown at once; wait a moment")
            await self._check_files(claims.room, message.files)
            if message.view.file not in message.files:
                raise BadMessage("bad_view", "the view's file is not among the files shown")
            person = await self.edge.people.person(claims.user_id)
            seq = presence.shown.seq + 1 if presence.shown else 1
            presence.shown = Presentation(
                claims.user_id, person.name if person else "?", message.files, message.view, seq
            )
            await self.edge.tell(
                claims.room, "room:shown", {"shown": presence.shown.to_dict()}, skip_sid=sid
            )
            return {"ok": True, "seq": seq}

        return await self.edge.guard(sid, act)

    async def on_view(self, sid: str, data: object = None) -> Ack:
        """The presenter's view changed: kept, and passed on to the others."""

        async def act() -> Ack:
            message = ViewMessage.parse(data)
            claims, shown = await self._presenting(sid, message.token)
            if message.view.file not in shown.files:
                raise BadMessage("bad_view", "the view's file is not among the files shown")
            shown.view = message.view
            shown.seq += 1
            await self.edge.tell(
                claims.room,
                "room:view",
                {"view": message.view.to_dict(), "seq": shown.seq},
                skip_sid=sid,
            )
            return {"ok": True, "seq": shown.seq}

        return await self.edge.guard(sid, act)

    async def on_pointer(self, sid: str, data: object = None) -> Ack:
        """Where the presenter points (not kept: a late joiner sees the next move)."""

        async def act() -> Ack:
            message = PointerMessage.parse(data)
            claims, _ = await self._presenting(sid, message.token)
            at = list(message.at) if message.at else None
            await self.edge.tell(claims.room, "room:pointer", {"at": at}, skip_sid=sid)
            return {"ok": True}

        return await self.edge.guard(sid, act)

    async def on_unshow(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self.edge.joined(sid, JoinMessage.parse(data).token)
            presence = self.edge.presence[claims.room]
            await self.presenter_left(claims.room, presence, claims.user_id)
            return {"ok": True}

        return await self.edge.guard(sid, act)

    async def presenter_left(self, key: str, presence: RoomPresence, user_id: int) -> None:
        """``user_id`` stopped showing or left: if they were the one showing, it ends."""
        if presence.shown is not None and presence.shown.presenter == user_id:
            presence.shown = None
            await self.edge.tell(key, "room:shown", {"shown": None})
