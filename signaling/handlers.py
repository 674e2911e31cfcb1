"""The socket.io edge: parse, check, call the core, emit its decisions.

A socket connects with the login cookie (refused without one) and joins its
``user:<id>`` room, which carries live consult updates. Room sockets also present a
join token at connect time, and every room message carries it again: it is verified
(signature, expiry, user) before anything else happens, and names the room
("consult:12"). Errors come back in the acknowledgement as ``{"error": {"code",
"message"}}`` and change nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp.web import AppKey

from media.errors import ConsultServerError
from media.hub import MediaHub
from media.probe import LinkProbes
from recordings.files import RecordingFile
from signaling.event_limits import VIEWS, EventLimits
from signaling.messages import (
    BadMessage,
    CandidateMessage,
    ChatMessage,
    JoinMessage,
    MediaStateMessage,
    OfferMessage,
)
from signaling.ports import People, SignalingSettings
from signaling.room import (
    Decision,
    Dropped,
    Joined,
    Left,
    Returned,
    Room,
    RoomRefused,
    SessionEnd,
    SessionStart,
)
from signaling.room_kinds import RoomKind, RoomSpec, parse_room_key
from signaling.rooms import Rooms
from signaling.shared_view import (
    PointerMessage,
    Presentation,
    ShowMessage,
    ViewMessage,
)
from signaling.socket_server import GuardedServer, LogBudget
from signaling.tokens import JoinClaims, TokenRefused, verify_join_token
from signaling.turn import ice_servers

log = logging.getLogger(__name__)
Ack = dict[str, Any]
MAX_MESSAGE_BYTES = 128 * 1024
PING_INTERVAL = 5
PING_TIMEOUT = 6


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("room task failed", exc_info=task.exception())


def _error(code: str, message: str) -> Ack:
    return {"error": {"code": code, "message": message}}


@dataclass
class RoomPresence:
    """Per-room edge state the core does not need: sockets and mute flags."""

    sids: dict[int, str] = field(default_factory=dict)
    media: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: What is being shown to everyone, if anything.
    shown: Presentation | None = None


class Signaling:
    def __init__(
        self,
        settings: SignalingSettings,
        people: People,
        media: MediaHub,
        rooms: Rooms,
        room_kinds: Mapping[str, RoomKind],
    ) -> None:
        self.settings = settings
        #: The far ends of the pre-join connection tests.
        self.probes = LinkProbes(settings.server_ice_servers, candidates=media.candidates)
        self.people = people
        self.media = media
        self.rooms = rooms
        self.room_kinds = dict(room_kinds)
        self.presence: dict[str, RoomPresence] = {}
        #: Rooms being recorded, with when the recording started.
        self.recording: dict[str, float] = {}
        #: Set when the server stops: socket disconnects are not people leaving.
        self.stopping = False
        #: Recorded rooms with a frame already in a file: the recording indicator shows
        #: from the first recorded frame.
        self.recording_live: set[str] = set()
        #: How many messages of each kind a socket may send (signaling/event_limits.py).
        self.event_limits = EventLimits()
        #: Messages that failed on our side (answered "internal").
        self.fault_log = LogBudget()
        manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
        self.sio = GuardedServer(
            people,
            async_mode="aiohttp",
            client_manager=manager,
            max_http_buffer_size=MAX_MESSAGE_BYTES,
            # A dead socket is noticed in ~10 s on both sides (the defaults, 25 + 20 s,
            # left a frozen room for most of a minute); a ping is a few bytes.
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
            logger=False,
            engineio_logger=False,
        )
        media.on_peer_state = self._peer_state
        handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "connect": self.on_connect,
            "disconnect": self.on_disconnect,
            "room:join": self.on_join,
            "room:offer": self.on_offer,
            "room:candidate": self.on_candidate,
            "room:media": self.on_media_state,
            "room:leave": self.on_leave,
            "room:chat": self.on_chat,
            "room:show": self.on_show,
            "room:view": self.on_view,
            "room:pointer": self.on_pointer,
            "room:unshow": self.on_unshow,
            "net:ice": self.on_ice,
            "net:probe": self.on_probe,
        }
        for event, handler in handlers.items():
            self.sio.on(event, self._limited(event, handler))

    def _limited(
        self, event: str, handler: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        """The handler behind the event's rate limit, taking any number of arguments
        (a message of several is one malformed payload, answered as such)."""
        if event in ("connect", "disconnect"):
            return handler

        async def limited(sid: str, *args: object) -> Any:
            if not self.event_limits.allow(sid, event, time.monotonic()):
                return _error("rate_limited", "too many messages of this kind; wait a moment")
            return await handler(sid, args[0] if len(args) == 1 else (args or None))

        return limited

    async def close_sockets(self, room: str, reason: str) -> None:
        """A login ended (sign-out, expiry) or an account was deactivated: every socket
        opened with it is told and closed now, here; with Redis, the other processes'
        pages are told and leave by themselves."""
        await self.sio.emit("session:ended", {"reason": reason}, room=room)
        for sid in list(self.sio.manager.get_participants("/", room)):
            sid = sid[0] if isinstance(sid, tuple) else sid
            await self.sio.disconnect(sid)

    async def notify_users(self, users: set[int], payload: dict[str, Any]) -> None:
        for user_id in users:
            await self.sio.emit("consult:update", payload, room=f"user:{user_id}")

    # -- connection ------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        user = await self.people.signed_in(environ.get("HTTP_COOKIE", ""))
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "not_authenticated", "message": "please sign in"}
            )
        if isinstance(auth, dict) and "join_token" in auth:
            try:
                claims = verify_join_token(self.settings.secret, auth["join_token"], time.time())
            except TokenRefused as exc:
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": exc.code, "message": exc.message}
                ) from None
            if claims.user_id != user.id:
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "token_invalid", "message": "this join token is not yours"}
                )
        await self.sio.save_session(sid, {"user_id": user.id, "rooms": set()})
        await self.sio.enter_room(sid, f"user:{user.id}")
        if user.login:
            await self.sio.enter_room(sid, f"login:{user.login}")

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.event_limits.forget(sid)
        if self.stopping:
            return  # the server closes the sockets: nobody left, the rooms just stop here
        socket_session = await self.sio.get_session(sid)
        if socket_session.get("probing"):
            await self.probes.close(socket_session["user_id"])
        for key in list(socket_session.get("rooms", ())):
            presence = self.presence.get(key)
            if presence and presence.sids.get(socket_session["user_id"]) == sid:
                # Not a hang-up (that is room:leave): the seat is kept for the grace.
                presence.sids.pop(socket_session["user_id"], None)
                await self._drop(key, socket_session["user_id"], "socket_lost")

    async def _claims(self, sid: str, token: str) -> JoinClaims:
        socket_session = await self.sio.get_session(sid)
        claims = verify_join_token(self.settings.secret, token, time.time())
        if claims.user_id != socket_session.get("user_id"):
            raise BadMessage("token_invalid", "this join token is not yours")
        return claims

    def _room_kind(self, key: str) -> tuple[RoomKind, int]:
        try:
            kind, number = parse_room_key(key)
            return self.room_kinds[kind], number
        except (ValueError, KeyError):
            raise BadMessage("token_invalid", "the join token names no room") from None

    async def _guard(self, sid: str, action: Callable[[], Awaitable[Ack]]) -> Ack:
        """Every message is answered: its result, a refusal, or (a fault of ours) an
        internal error, logged within a budget."""
        try:
            return await action()
        except ConsultServerError as exc:
            log.info("refused %s for sid %s", exc.code, sid)
            return _error(exc.code, exc.message)
        except Exception:
            self.fault_log.warn("a socket message failed", exc_info=True)
            return _error("internal", "the server could not handle this message; try again")

    # -- room messages ---------------------------------------------------------------

    async def on_join(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self._claims(sid, JoinMessage.parse(data).token)
            room_kind, number = self._room_kind(claims.room)
            spec = await room_kind.spec(number)
            if spec.allowed is not None and claims.user_id not in spec.allowed:
                raise RoomRefused("not_a_participant", "you are not a participant of this room")
            if not spec.joinable:
                raise RoomRefused("room_closed", f"this room is closed ({spec.state})")
            room = self._sync(spec)
            presence = self.presence.setdefault(spec.key, RoomPresence())
            previous = presence.sids.get(claims.user_id)
            if previous is not None and previous != sid:
                await self.sio.emit("room:replaced", {}, to=previous)
                await self.media.leave(spec.key, claims.user_id)
            now = time.time()
            decisions = self.rooms.join(room.key, claims.user_id, now)
            presence.sids[claims.user_id] = sid
            presence.media.setdefault(claims.user_id, {"audio": True, "video": True})
            socket_session = await self.sio.get_session(sid)
            socket_session["rooms"].add(spec.key)
            await self.sio.enter_room(sid, f"room:{spec.key}")
            for decision in decisions:
                if isinstance(decision, Joined):
                    await room_kind.joined(number, claims.user_id, claims.role, now)
                    await self._catalog_late_recording(room_kind, spec.key, claims)
                elif isinstance(decision, Returned):
                    await room_kind.event(number, claims.user_id, "room_return", now)
                elif isinstance(decision, SessionStart):
                    await room_kind.started(number, decision.at)
                    target = await room_kind.recording_target(number, decision.at)
                    if target is not None:
                        self.media.start_recording(
                            spec.key, target, functools.partial(self._recorded, spec.key)
                        )
                        self.recording[spec.key] = decision.at
                        await room_kind.recording_started(number, decision.at, target)
            state = await self._room_state(spec.key)
            await self.sio.emit("room:state", state, room=f"room:{spec.key}")
            return {
                "ok": True,
                "room": state,
                "ice": self._ice(claims),
            }

        return await self._guard(sid, act)

    def _ice(self, claims: JoinClaims) -> dict[str, Any]:
        """The browser's RTCConfiguration: TURN with a credential that expires with the
        join token (nothing unless media.turn_urls is set)."""
        return {
            "ice_servers": ice_servers(self.settings.turn, claims.user_id, claims.expires_at),
            "policy": self.settings.ice_transport_policy,
        }

    # -- the pre-join connection test ---------------------------------------------------

    async def on_ice(self, sid: str, data: object = None) -> Ack:
        """The ICE configuration for a connection test before joining."""

        async def act() -> Ack:
            claims = await self._claims(sid, JoinMessage.parse(data).token)
            return {"ok": True, "ice": self._ice(claims)}

        return await self._guard(sid, act)

    async def on_probe(self, sid: str, data: object = None) -> Ack:
        """Answer a connection test's offer (one data channel that the server echoes);
        any holder of a valid join token may test, before joining."""

        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self._claims(sid, message.token)
            answer = await self.probes.answer(claims.user_id, message.sdp)
            socket_session = await self.sio.get_session(sid)
            socket_session["probing"] = True
            return {"ok": True, "type": "answer", "sdp": answer}

        return await self._guard(sid, act)

    async def _catalog_late_recording(
        self, room_kind: RoomKind, key: str, claims: JoinClaims
    ) -> None:
        """Someone joins a room being recorded (an invited specialist): their file gets
        its catalog entry now, like those of the people there at the start."""
        started = self.recording.get(key)
        room = self.rooms.get(key)
        if started is None or room is None or claims.user_id not in room.publishers:
            return
        _, number = self._room_kind(key)
        target = await room_kind.recording_target(number, started)
        if target is not None:
            await room_kind.recording_joined(number, started, target, claims.user_id, claims.role)

    def _recorded(self, key: str, user_id: int) -> None:
        """A participant's first frame is in its file (called on the loop by the hub)."""
        if key not in self.recording or key in self.recording_live:
            return  # stopped while that frame was being written, or not the first
        self.recording_live.add(key)
        task = asyncio.create_task(self._recording_live(key))
        task.add_done_callback(_log_failure)

    async def _recording_live(self, key: str) -> None:
        room_kind, number = self._room_kind(key)
        await room_kind.event(number, None, "recording_start", time.time())
        if key in self.presence:
            await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    def _sync(self, spec: RoomSpec) -> Room:
        """Open the room, or take in publishers added since (an invitation)."""
        room = self.rooms.open(
            spec.key,
            lambda: Room(
                spec.key,
                publishers=spec.publishers,
                grace_seconds=self.settings.room_grace_seconds,
                allowed=spec.allowed,
                quorum=spec.quorum,
            ),
        )
        for user_id in spec.publishers - room.publishers:
            self.rooms.invite(spec.key, user_id)
        current = self.rooms.get(spec.key)
        assert current is not None
        return current

    async def tell_room(self, key: str, event: str, payload: dict[str, Any]) -> None:
        """Something about the room changed outside signaling (a file was attached):
        tell everyone in it."""
        await self.sio.emit(event, payload, room=f"room:{key}")

    async def refresh_room(self, key: str) -> None:
        """The room's people changed in the store (an invitation): tell everyone in it."""
        if key not in self.presence:
            return
        room_kind, number = self._room_kind(key)
        self._sync(await room_kind.spec(number))
        await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    async def _joined(self, sid: str, token: str) -> JoinClaims:
        claims = await self._claims(sid, token)
        presence = self.presence.get(claims.room)
        if presence is None or presence.sids.get(claims.user_id) != sid:
            raise BadMessage("not_joined", "join the room before sending media messages")
        return claims

    async def on_offer(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self._joined(sid, message.token)
            room = self.rooms.get(claims.room)
            publishers = sorted(room.publishers) if room else []
            answer = await self.media.handle_offer(
                claims.room,
                claims.user_id,
                message.sdp,
                receive_from=[p for p in publishers if p != claims.user_id],
                publish=claims.user_id in publishers,
            )
            return {"ok": True, "type": "answer", "sdp": answer}

        return await self._guard(sid, act)

    async def on_candidate(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = CandidateMessage.parse(data)
            claims = await self._joined(sid, message.token)
            used = await self.media.add_candidate(claims.room, claims.user_id, message.candidate)
            return {"ok": True, "used": used}

        return await self._guard(sid, act)

    async def on_media_state(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = MediaStateMessage.parse(data)
            claims = await self._joined(sid, message.token)
            media = self.presence[claims.room].media
            before = media.get(claims.user_id, {"audio": True, "video": True})
            after: dict[str, Any] = {
                "audio": message.audio,
                "video": message.video,
                "video_paused": message.video_paused,
                "quality": message.quality,
            }
            media[claims.user_id] = after
            room_kind, number = self._room_kind(claims.room)
            now = time.time()
            for kind in ("audio", "video"):
                if before.get(kind) != after[kind]:
                    switch = "on" if after[kind] else "off"
                    await room_kind.event(number, claims.user_id, f"room_{kind}_{switch}", now)
            state = await self._room_state(claims.room)
            await self.sio.emit("room:state", state, room=f"room:{claims.room}")
            return {"ok": True}

        return await self._guard(sid, act)

    async def on_chat(self, sid: str, data: object = None) -> Ack:
        """A chat line: kept with the room's consult, then sent to everyone in the room."""

        async def act() -> Ack:
            message = ChatMessage.parse(data)
            claims = await self._joined(sid, message.token)
            now = time.time()
            room_kind, number = self._room_kind(claims.room)
            line = await room_kind.said(number, claims.user_id, message.text, now)
            if line is None:
                raise BadMessage("chat_unavailable", "this room has no chat")
            await self.sio.emit("room:chat", line, room=f"room:{claims.room}")
            return {"ok": True, "message": line}

        return await self._guard(sid, act)

    # -- show to everyone (signaling/shared_view.py) -------------------------------------

    async def _presenter(self, sid: str, token: str) -> tuple[JoinClaims, RoomPresence]:
        claims = await self._joined(sid, token)
        room_kind, number = self._room_kind(claims.room)
        allowed = (await room_kind.spec(number)).allowed
        room = self.rooms.get(claims.room)
        may = (
            claims.user_id in allowed
            if allowed is not None
            else (room is not None and claims.user_id in room.publishers)
        )
        if not may:
            raise BadMessage("not_a_presenter", "only the room's participants can show images")
        return claims, self.presence[claims.room]

    async def _presenting(self, sid: str, token: str) -> tuple[JoinClaims, Presentation]:
        """The sender is the one showing in its room, and not sending too fast."""
        claims, presence = await self._presenter(sid, token)
        shown = presence.shown
        if shown is None or shown.presenter != claims.user_id:
            raise BadMessage("not_presenting", "you are not showing anything")
        if not self.event_limits.allow(sid, VIEWS, time.monotonic()):
            raise BadMessage("rate_limited", "too many view updates; send fewer")
        return claims, shown

    async def on_show(self, sid: str, data: object = None) -> Ack:
        """Show files to everyone in the room (taking over from whoever showed before)."""

        async def act() -> Ack:
            message = ShowMessage.parse(data)
            claims, presence = await self._presenter(sid, message.token)
            if not self.event_limits.allow(sid, VIEWS, time.monotonic()):
                raise BadMessage("rate_limited", "too many views shown at once; wait a moment")
            person = await self.people.person(claims.user_id)
            seq = presence.shown.seq + 1 if presence.shown else 1
            presence.shown = Presentation(
                claims.user_id, person.name if person else "?", message.files, message.view, seq
            )
            await self.sio.emit(
                "room:shown",
                {"shown": presence.shown.to_dict()},
                room=f"room:{claims.room}",
                skip_sid=sid,
            )
            return {"ok": True, "seq": seq}

        return await self._guard(sid, act)

    async def on_view(self, sid: str, data: object = None) -> Ack:
        """The presenter's view changed: kept, and passed on to the others."""

        async def act() -> Ack:
            message = ViewMessage.parse(data)
            claims, shown = await self._presenting(sid, message.token)
            shown.view = message.view
            shown.seq += 1
            await self.sio.emit(
                "room:view",
                {"view": message.view.to_dict(), "seq": shown.seq},
                room=f"room:{claims.room}",
                skip_sid=sid,
            )
            return {"ok": True, "seq": shown.seq}

        return await self._guard(sid, act)

    async def on_pointer(self, sid: str, data: object = None) -> Ack:
        """Where the presenter points (not kept: a late joiner sees the next move)."""

        async def act() -> Ack:
            message = PointerMessage.parse(data)
            claims, _ = await self._presenting(sid, message.token)
            at = list(message.at) if message.at else None
            await self.sio.emit(
                "room:pointer", {"at": at}, room=f"room:{claims.room}", skip_sid=sid
            )
            return {"ok": True}

        return await self._guard(sid, act)

    async def on_unshow(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self._joined(sid, JoinMessage.parse(data).token)
            presence = self.presence[claims.room]
            if presence.shown is not None and presence.shown.presenter == claims.user_id:
                await self._stop_showing(claims.room, presence)
            return {"ok": True}

        return await self._guard(sid, act)

    async def _stop_showing(self, key: str, presence: RoomPresence) -> None:
        presence.shown = None
        await self.sio.emit("room:shown", {"shown": None}, room=f"room:{key}")

    async def on_leave(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self._joined(sid, JoinMessage.parse(data).token)
            await self._leave(claims.room, claims.user_id)
            await self.sio.leave_room(sid, f"room:{claims.room}")
            return {"ok": True}

        return await self._guard(sid, act)

    # -- carrying out decisions ------------------------------------------------------

    async def _leave(self, key: str, user_id: int) -> None:
        now = time.time()
        presence = self.presence.get(key)
        if presence is not None:
            presence.sids.pop(user_id, None)
            if presence.shown is not None and presence.shown.presenter == user_id:
                await self._stop_showing(key, presence)
        await self.media.leave(key, user_id)
        room_kind, number = self._room_kind(key)
        for decision in self.rooms.leave(key, user_id, now):
            if isinstance(decision, Left):
                await room_kind.left(number, user_id, now)
            elif isinstance(decision, SessionEnd):
                await self._end(key, decision)
                return
        if key in self.presence:
            await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    async def _drop(self, key: str, user_id: int, reason: str) -> None:
        """A participant's link went silent or failed: seat kept, the others told."""
        now = time.time()
        room_kind, number = self._room_kind(key)
        for decision in self.rooms.drop(key, user_id, now, reason):
            if isinstance(decision, Dropped):
                log.warning("%s: participant %s dropped (%s)", key, user_id, reason)
                await room_kind.event(number, user_id, "room_drop", now)
        if key in self.presence:
            await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    def _peer_state(self, key: str, user_id: int, state: str, reason: str) -> None:
        """From the media hub (on the loop): a peer's link was lost or came back."""
        task = asyncio.create_task(self._link_changed(key, user_id, state, reason))
        task.add_done_callback(_log_failure)

    async def _link_changed(self, key: str, user_id: int, state: str, reason: str) -> None:
        presence = self.presence.get(key)
        if presence is None or user_id not in presence.sids:
            return  # gone already, or its socket dropped (that drop was recorded)
        if state == "lost":
            await self._drop(key, user_id, reason)
            return
        room = self.rooms.get(key)
        if room is None or user_id not in room.dropped:
            return
        room_kind, number = self._room_kind(key)
        now = time.time()
        for decision in self.rooms.join(key, user_id, now):
            if isinstance(decision, Returned):
                await room_kind.event(number, user_id, "room_return", now)
        await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    async def _stop_recording(self, key: str) -> None:
        """Finish a room's files and catalogue them (if it is being recorded)."""
        room_kind, number = self._room_kind(key)
        started = self.recording.pop(key, None)
        self.recording_live.discard(key)
        if started is None:
            return
        writers = await self.media.stop_recording(key)
        await room_kind.event(number, None, "recording_stop", time.time())
        files = {
            user: RecordingFile(w.path, w.stats.frames_written, w.stats.frames_dropped)
            for user, w in writers.items()
        }
        await room_kind.recordings_finished(number, started, files)

    async def shutdown(self) -> None:
        """The server is stopping (a restart, an upgrade): finish the recordings, then
        close every socket at once (browsers reconnect to the restarted server) without
        taking it as people leaving: their consults stay in session, to be resumed."""
        self.stopping = True
        await self.probes.close_all()
        await self.finish_recordings()
        if self.sio.eio.sockets:
            await self.sio.eio.disconnect()
        await self.sio.shutdown()

    async def finish_recordings(self) -> None:
        """The server is stopping: close every recording cleanly (catalogued complete).
        Consults stay in session; whoever rejoins after the restart starts a new
        recorded session."""
        for key in list(self.recording):
            try:
                await self._stop_recording(key)
            except Exception:
                log.exception("could not finish the recording of %s", key)

    async def _end(self, key: str, decision: SessionEnd) -> None:
        room_kind, number = self._room_kind(key)
        await self._stop_recording(key)
        await self.media.close_room(key)
        presence = self.presence.pop(key, RoomPresence())
        for user_id in list(presence.sids):
            await room_kind.left(number, user_id, decision.at)
        self.rooms.close(key)
        await room_kind.ended(number, decision.at, decision.reason)
        await self.sio.emit("room:ended", {"reason": decision.reason}, room=f"room:{key}")

    async def tick(self, now: float) -> None:
        for key, decisions in self.rooms.tick(now):
            await self._carry_out(key, decisions)

    async def _carry_out(self, key: str, decisions: list[Decision]) -> None:
        """The ticker's decisions: a dropped seat given up, or the session's end."""
        room_kind, number = self._room_kind(key)
        for decision in decisions:
            if isinstance(decision, Left):
                log.warning("%s: participant %s did not come back in time", key, decision.user_id)
                presence = self.presence.get(key)
                if presence is not None:
                    presence.sids.pop(decision.user_id, None)
                await self.media.leave(key, decision.user_id)
                await room_kind.left(number, decision.user_id, decision.at)
            elif isinstance(decision, SessionEnd):
                await self._end(key, decision)
                return
        if key in self.presence:
            await self.sio.emit("room:state", await self._room_state(key), room=f"room:{key}")

    async def _room_state(self, key: str) -> dict[str, Any]:
        room = self.rooms.get(key)
        presence = self.presence.get(key, RoomPresence())
        publishers = sorted(room.publishers) if room else []
        participants = []
        present = room.present if room else frozenset()
        for user_id in sorted(set(publishers) | set(presence.sids)):
            user = await self.people.person(user_id)
            seat_until = room.seat_until(user_id) if room else None
            participants.append(
                {
                    "user_id": user_id,
                    "name": user.name if user else "?",
                    "role": user.role if user else "?",
                    "publishes": user_id in publishers,
                    "present": user_id in present,
                    # "present", "dropped" (link lost, seat kept until seat_until) or
                    # "away" (not joined yet, or left).
                    "status": "present"
                    if user_id in present
                    else "dropped"
                    if seat_until is not None
                    else "away",
                    "seat_until": seat_until,
                    **presence.media.get(user_id, {"audio": True, "video": True}),
                }
            )
        return {
            "room": key,
            "state": room.state.value if room else "ended",
            # The order in which every browser receives the publishers' media.
            "publishers": publishers,
            "participants": participants,
            "viewers": sum(1 for u in presence.sids if u not in publishers),
            "recording": key in self.recording_live,
            # What is shown to everyone: a late joiner or a reconnect opens the same view.
            "shown": presence.shown.to_dict() if presence.shown else None,
            "server_now": time.time(),
        }


SIO: AppKey[socketio.AsyncServer] = AppKey("sio")
SIGNALING: AppKey[Signaling] = AppKey("signaling")
