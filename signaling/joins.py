"""Joining a room and its media: join, offer, candidates, mute flags, leave; links that
drop and come back; the ticker's decisions; the session's end.

The room's rules (``room.py``, through ``Rooms``) decide; this module carries out their
decisions: the kind of room keeps its starts, ends and presence, the media hub its
peers, ``RoomRecordings`` its files, and everyone in the room is told the new state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from media.errors import ConsultServerError
from media.hub import MediaHub
from signaling.edge import Ack, RoomEdge, log_failure, room_channel
from signaling.messages import (
    CandidateMessage,
    JoinMessage,
    MediaStateMessage,
    OfferMessage,
)
from signaling.recording import RoomRecordings
from signaling.relays import Relays, is_relay
from signaling.room import (
    Decision,
    Dropped,
    Joined,
    Left,
    Returned,
    RoomRefused,
    SessionEnd,
    SessionStart,
)
from signaling.room_state import MEDIA_ON, RoomPresence, media_order, screen_id, screen_owner
from signaling.screens import Screens
from signaling.showing import Showing
from signaling.tokens import JoinClaims
from signaling.turn import rtc_configuration

log = logging.getLogger(__name__)


class Joins:
    def __init__(
        self,
        edge: RoomEdge,
        media: MediaHub,
        recordings: RoomRecordings,
        showing: Showing,
        screens: Screens,
        relays: Relays,
    ) -> None:
        self.edge = edge
        self.media = media
        self.relays = relays
        self.recordings = recordings
        self.showing = showing
        self.screens = screens
        media.on_peer_state = self._peer_state

    def ice(self, claims: JoinClaims) -> dict[str, Any]:
        """The browser's RTCConfiguration: TURN with a credential that expires with the
        join token (nothing unless media.turn_urls is set)."""
        settings = self.edge.settings
        return rtc_configuration(
            settings.turn, settings.ice_transport_policy, claims.user_id, claims.expires_at
        )

    async def on_join(self, sid: str, data: object = None) -> Ack:
        edge = self.edge

        async def act() -> Ack:
            message = JoinMessage.parse(data)
            claims = await edge.claims(sid, message.token)
            relays = self.relays
            if relays.relayable(claims) and not await relays.placement.holds_here(claims.room):
                # A viewer whose page came to this node: the room is relayed here (the
                # join has just asked the origin for its sources: the offer needs no more).
                joined = await relays.join(sid, claims)
                answered = await self._answer_with_join(sid, claims, message.offer, asked=True)
                return {**joined, "ice": self.ice(claims), **answered}
            if relays.relayed_here(claims.room):
                # The room came here (its origin died or drained): no relay of it now;
                # its viewers' pages rebuild their connections and join it here.
                await relays.close(claims.room, tell_origin=False)
            ports, number = edge.kind(claims.room)
            spec = await ports.rooms.spec(number)
            if spec.allowed is not None and claims.user_id not in spec.allowed:
                raise RoomRefused("not_a_participant", "you are not a participant of this room")
            if not spec.joinable:
                raise RoomRefused("room_closed", f"this room is closed ({spec.state})")
            room = self.edge.open_room(spec)
            presence = edge.presence.setdefault(spec.key, RoomPresence())
            previous = presence.sids.get(claims.user_id)
            if previous is not None and previous != sid:
                await edge.sio.emit("room:replaced", {}, to=previous)
                await self.screens.stop(spec.key, claims.user_id)
                await self.media.leave(spec.key, claims.user_id)
            now = time.time()
            decisions = edge.rooms.join(room.key, claims.user_id, now)
            presence.sids[claims.user_id] = sid
            presence.media.setdefault(claims.user_id, dict(MEDIA_ON))
            socket_session = await edge.sio.get_session(sid)
            socket_session["rooms"].add(spec.key)
            await edge.sio.enter_room(sid, room_channel(spec.key))
            for decision in decisions:
                if isinstance(decision, Joined):
                    await ports.rooms.joined(number, claims.user_id, claims.role, now)
                    if claims.user_id in room.publishers:
                        await self.recordings.joined(spec.key, claims.user_id, claims.role)
                elif isinstance(decision, Returned):
                    await ports.rooms.event(number, claims.user_id, "room_return", now)
                elif isinstance(decision, SessionStart):
                    await ports.rooms.started(number, decision.at)
                    await self.recordings.start(spec.key, decision.at)
            if ports.relayed and claims.user_id not in room.publishers:
                # A viewer of a lesson: they get the state now, everyone else within
                # half a second, one message for a burst of joins (5,000 viewers).
                state: dict[str, Any] | None = await edge.state(spec.key)
                self.relays.state_soon(spec.key)
            else:
                state = await edge.emit_state(spec.key)
            # Only the socket dropped (a ping lost on a saturated uplink): the media may
            # still flow, and the page keeps its peer connection rather than rebuild it.
            media = self.media.live(spec.key, claims.user_id)
            # Layers let each viewer get what its link carries: a lesson's presenters,
            # and everyone in a consult of three or more.
            layered = (
                self.edge.settings.simulcast
                and claims.user_id in room.publishers
                and (ports.relayed or len(room.publishers) >= 3)
            )
            return {
                "ok": True,
                "room": state,
                "ice": self.ice(claims),
                "media": media,
                "simulcast": layered,
                **await self._answer_with_join(sid, claims, message.offer),
            }

        return await edge.guard(sid, act)

    async def _answer_with_join(
        self, sid: str, claims: JoinClaims, offer: str | None, asked: bool = False
    ) -> dict[str, Any]:
        """The answer to an offer sent with the join. A refused offer does not undo the
        join: its error goes with the reply, and the page offers again on its own. It
        counts against the socket's offers as one sent on its own would."""
        if offer is None:
            return {}
        if not self.edge.event_limits.allow(sid, "room:offer", time.monotonic()):
            refused = "too many messages of this kind; wait a moment"
            return {"offer_error": {"code": "rate_limited", "message": refused}}
        try:
            return {"answer": {"type": "answer", "sdp": await self._answer(claims, offer, asked)}}
        except ConsultServerError as exc:
            log.info("refused the offer sent with a join: %s", exc.code)
            return {"offer_error": {"code": exc.code, "message": exc.message}}

    async def _answer(self, claims: JoinClaims, sdp: str, asked: bool = False) -> str:
        """Our answer to a joined participant's offer: the others' media, ours to them.
        ``asked``: a relayed room's sources were just asked of its origin."""
        room = self.edge.rooms.get(claims.room)
        if self.relays.relayed_here(claims.room):
            if not asked:
                await self.relays.ready(claims.room)  # the sources as they are now
            order = self.relays.sources(claims.room)
        else:
            order = media_order(room, self.edge.presence[claims.room])
        own = (claims.user_id, screen_id(claims.user_id))
        return await self.media.handle_offer(
            claims.room,
            claims.user_id,
            sdp,
            receive_from=[p for p in order if p not in own],
            publish=room is not None and claims.user_id in room.publishers,
        )

    async def refresh(self, key: str) -> None:
        """The room's people changed in the store (an invitation): tell everyone in it."""
        if key not in self.edge.presence:
            return
        ports, number = self.edge.kind(key)
        self.edge.open_room(await ports.rooms.spec(number))
        await self.edge.emit_state(key)

    async def on_offer(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            return {"ok": True, "type": "answer", "sdp": await self._answer(claims, message.sdp)}

        return await self.edge.guard(sid, act)

    async def on_candidate(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = CandidateMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            used = await self.media.add_candidate(claims.room, claims.user_id, message.candidate)
            return {"ok": True, "used": used}

        return await self.edge.guard(sid, act)

    async def on_media_state(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = MediaStateMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            media = self.edge.presence[claims.room].media
            before = media.get(claims.user_id, MEDIA_ON)
            after: dict[str, Any] = {
                "audio": message.audio,
                "video": message.video,
                "video_paused": message.video_paused,
                "quality": message.quality,
            }
            media[claims.user_id] = after
            ports, number = self.edge.kind(claims.room)
            now = time.time()
            for kind in ("audio", "video"):
                if before.get(kind) != after[kind]:
                    switch = "on" if after[kind] else "off"
                    await ports.rooms.event(number, claims.user_id, f"room_{kind}_{switch}", now)
            await self.edge.emit_state(claims.room)
            return {"ok": True}

        return await self.edge.guard(sid, act)

    async def on_leave(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self.edge.joined(sid, JoinMessage.parse(data).token)
            await self.leave(claims.room, claims.user_id)
            await self.edge.sio.leave_room(sid, room_channel(claims.room))
            return {"ok": True}

        return await self.edge.guard(sid, act)

    async def socket_lost(self, sid: str, user_id: int, rooms: set[str]) -> None:
        """A socket went away without "Leave": the seat is kept for the grace."""
        for key in list(rooms):
            presence = self.edge.presence.get(key)
            if presence and presence.sids.get(user_id) == sid:
                if self.relays.relayed_here(key):
                    self.relays.lost(key, user_id, self.edge.settings.room_grace_seconds)
                    continue
                presence.sids.pop(user_id, None)
                await self.drop(key, user_id, "socket_lost")

    # -- carrying out decisions ------------------------------------------------------

    async def leave(self, key: str, user_id: int) -> None:
        if self.relays.relayed_here(key):
            await self.relays.leave(key, user_id)
            return
        now = time.time()
        presence = self.edge.presence.get(key)
        if presence is not None:
            presence.sids.pop(user_id, None)
            await self.showing.presenter_left(key, presence, user_id)
        await self.screens.stop(key, user_id)
        await self.media.leave(key, user_id)
        ports, number = self.edge.kind(key)
        room = self.edge.rooms.get(key)
        viewer = ports.relayed and room is not None and user_id not in room.publishers
        for decision in self.edge.rooms.leave(key, user_id, now):
            if isinstance(decision, Left):
                await ports.rooms.left(number, user_id, now)
            elif isinstance(decision, SessionEnd):
                await self.end(key, decision)
                return
        if viewer:
            # A lesson viewer's leave, like their join: everyone told within half a
            # second, one message for a burst (a lesson's end empties it at once).
            self.relays.state_soon(key)
        else:
            await self.edge.emit_state(key)

    async def drop(self, key: str, user_id: int, reason: str) -> None:
        """A participant's link went silent or failed: seat kept, the others told."""
        now = time.time()
        ports, number = self.edge.kind(key)
        for decision in self.edge.rooms.drop(key, user_id, now, reason):
            if isinstance(decision, Dropped):
                log.warning("%s: participant %s dropped (%s)", key, user_id, reason)
                await ports.rooms.event(number, user_id, "room_drop", now)
        await self.edge.emit_state(key)

    def _peer_state(self, key: str, user_id: int, state: str, reason: str) -> None:
        """From the media hub (on the loop): a peer's link was lost or came back."""
        task = asyncio.create_task(self._link_changed(key, user_id, state, reason))
        task.add_done_callback(log_failure)

    async def _link_changed(self, key: str, user_id: int, state: str, reason: str) -> None:
        if is_relay(user_id):  # another node's relay of this room: its edge went away
            if state == "lost":
                await self.relays.relay_lost_here(key, user_id)
            return
        if self.relays.relayed_here(key):
            return  # a viewer here: the socket's drop keeps the seat
        owner = screen_owner(user_id)
        if owner is not None:  # a shared screen lost stops (its page may send it again)
            if state == "lost":
                await self.screens.stop(key, owner)
            return
        presence = self.edge.presence.get(key)
        if presence is None or user_id not in presence.sids:
            return  # gone already, or its socket dropped (that drop was recorded)
        if state == "lost":
            await self.drop(key, user_id, reason)
            return
        room = self.edge.rooms.get(key)
        if room is None or user_id not in room.dropped:
            return
        ports, number = self.edge.kind(key)
        now = time.time()
        for decision in self.edge.rooms.join(key, user_id, now):
            if isinstance(decision, Returned):
                await ports.rooms.event(number, user_id, "room_return", now)
        await self.edge.emit_state(key, only_if_open=False)

    async def end(self, key: str, decision: SessionEnd) -> None:
        ports, number = self.edge.kind(key)
        await self.recordings.stop(key)
        self.relays.forget_origin(key)
        await self.media.close_room(key)
        presence = self.edge.presence.pop(key, RoomPresence())
        for user_id in list(presence.sids):
            await ports.rooms.left(number, user_id, decision.at)
        self.edge.rooms.close(key)
        await ports.rooms.ended(number, decision.at, decision.reason)
        await self.edge.tell(key, "room:ended", {"reason": decision.reason})

    async def move(self, key: str) -> None:
        """This process gives the room up (it drains): its recording finished here, its
        pages told to go where the room is placed now, and the room forgotten here
        without ending it (the consult stays in session; the pages rejoin elsewhere)."""
        await self.recordings.stop(key)
        await self.edge.tell(key, "room:move", {})
        self.relays.forget_origin(key)
        await self.media.close_room(key)
        self.edge.presence.pop(key, None)
        self.edge.rooms.close(key)

    async def tick(self, now: float) -> None:
        for key, decisions in self.edge.rooms.tick(now):
            await self._carry_out(key, decisions)

    async def _carry_out(self, key: str, decisions: list[Decision]) -> None:
        """The ticker's decisions: a dropped seat given up, or the session's end."""
        ports, number = self.edge.kind(key)
        for decision in decisions:
            if isinstance(decision, Left):
                log.warning("%s: participant %s did not come back in time", key, decision.user_id)
                presence = self.edge.presence.get(key)
                if presence is not None:
                    presence.sids.pop(decision.user_id, None)
                await self.screens.stop(key, decision.user_id)
                await self.media.leave(key, decision.user_id)
                await ports.rooms.left(number, decision.user_id, decision.at)
            elif isinstance(decision, SessionEnd):
                await self.end(key, decision)
                return
        await self.edge.emit_state(key)
