"""The socket.io edge: parse, check, call the core, emit its decisions.

A socket connects with the login cookie (refused without one) and joins its
``user:<id>`` room, which carries live consult updates. Room sockets also present a
join token at connect time, and every room message carries it again: it is verified
(signature, expiry, user, consult) before anything else happens. Errors come back in
the acknowledgement as ``{"error": {"code", "message"}}`` and change nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import socketio

from consult_server.accounts import Accounts
from consult_server.config import Config
from consult_server.consults import Consults
from consult_server.errors import ClientError
from consult_server.login_sessions import COOKIE_NAME, LoginSessions
from consult_server.tokens import JoinClaims, verify_join_token
from media.hub import MediaError, MediaHub
from signaling.consult import ConsultState
from signaling.messages import (
    BadMessage,
    CandidateMessage,
    JoinMessage,
    MediaStateMessage,
    OfferMessage,
)
from signaling.room import Joined, Left, RoomRefused, SessionEnd, SessionStart
from signaling.rooms import Rooms

log = logging.getLogger(__name__)
Ack = dict[str, Any]
MAX_MESSAGE_BYTES = 128 * 1024


def _error(code: str, message: str) -> Ack:
    return {"error": {"code": code, "message": message}}


@dataclass
class RoomPresence:
    """Per-room edge state the core does not need: sockets and mute flags."""

    sids: dict[int, str] = field(default_factory=dict)
    media: dict[int, dict[str, bool]] = field(default_factory=dict)


class Signaling:
    def __init__(
        self,
        config: Config,
        accounts: Accounts,
        consults: Consults,
        sessions: LoginSessions,
        media: MediaHub,
        rooms: Rooms,
    ) -> None:
        self.config = config
        self.accounts = accounts
        self.consults = consults
        self.sessions = sessions
        self.media = media
        self.rooms = rooms
        self.presence: dict[int, RoomPresence] = {}
        manager = socketio.AsyncRedisManager(config.redis.url) if config.redis.url else None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=manager,
            max_http_buffer_size=MAX_MESSAGE_BYTES,
            logger=False,
            engineio_logger=False,
        )
        handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "connect": self.on_connect,
            "disconnect": self.on_disconnect,
            "room:join": self.on_join,
            "room:offer": self.on_offer,
            "room:candidate": self.on_candidate,
            "room:media": self.on_media_state,
            "room:leave": self.on_leave,
        }
        for event, handler in handlers.items():
            self.sio.on(event, handler)
        consults.set_notifier(self.notify_users)

    async def notify_users(self, users: set[int], payload: dict[str, Any]) -> None:
        for user_id in users:
            await self.sio.emit("consult:update", payload, room=f"user:{user_id}")

    # -- connection ------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = cookie[COOKIE_NAME].value if COOKIE_NAME in cookie else ""
        login = await self.sessions.get(token) if token else None
        user = await self.accounts.user(login.user_id) if login else None
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "not_authenticated", "message": "please sign in"}
            )
        if isinstance(auth, dict) and "join_token" in auth:
            try:
                claims = verify_join_token(
                    self.config.secret_bytes(), auth["join_token"], time.time()
                )
            except ClientError as exc:
                raise socketio.exceptions.ConnectionRefusedError(exc.to_dict()) from None
            if claims.user_id != user.id:
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "token_invalid", "message": "this join token is not yours"}
                )
        await self.sio.save_session(sid, {"user_id": user.id, "rooms": set()})
        await self.sio.enter_room(sid, f"user:{user.id}")

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        session = await self.sio.get_session(sid)
        for consult_id in list(session.get("rooms", ())):
            presence = self.presence.get(consult_id)
            if presence and presence.sids.get(session["user_id"]) == sid:
                await self._leave(consult_id, session["user_id"])

    async def _claims(self, sid: str, token: str) -> JoinClaims:
        session = await self.sio.get_session(sid)
        claims = verify_join_token(self.config.secret_bytes(), token, time.time())
        if claims.user_id != session.get("user_id"):
            raise BadMessage("token_invalid", "this join token is not yours")
        return claims

    async def _guard(self, sid: str, action: Callable[[], Awaitable[Ack]]) -> Ack:
        try:
            return await action()
        except (ClientError, BadMessage, RoomRefused, MediaError) as exc:
            code = exc.code
            message = getattr(exc, "message", str(exc))
            log.info("refused %s for sid %s", code, sid)
            return _error(code, message)

    # -- room messages ---------------------------------------------------------------

    async def on_join(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self._claims(sid, JoinMessage.parse(data).token)
            consult = await self.consults.get(claims.consult_id)
            if claims.user_id not in (consult.clinician_id, consult.accepted_by):
                raise RoomRefused("not_a_participant", "you are not a participant of this consult")
            if consult.state not in (ConsultState.ACCEPTED, ConsultState.IN_SESSION):
                raise RoomRefused("room_closed", f"this consult is {consult.state.value}")
            expected = frozenset(
                u for u in (consult.clinician_id, consult.accepted_by) if u is not None
            )
            self.rooms.open(consult.id, expected, self.config.consults.room_grace_seconds)
            presence = self.presence.setdefault(consult.id, RoomPresence())
            previous = presence.sids.get(claims.user_id)
            if previous is not None and previous != sid:
                await self.sio.emit("room:replaced", {}, to=previous)
                await self.media.leave(consult.id, claims.user_id)
            now = time.time()
            decisions = self.rooms.join(consult.id, claims.user_id, now)
            presence.sids[claims.user_id] = sid
            presence.media.setdefault(claims.user_id, {"audio": True, "video": True})
            session = await self.sio.get_session(sid)
            session["rooms"].add(consult.id)
            await self.sio.enter_room(sid, f"room:{consult.id}")
            for decision in decisions:
                if isinstance(decision, Joined):
                    await self.consults.record_join(consult.id, claims.user_id, claims.role, now)
                elif isinstance(decision, SessionStart):
                    await self.consults.session_started(consult.id, decision.at)
            state = await self._room_state(consult.id)
            await self.sio.emit("room:state", state, room=f"room:{consult.id}")
            return {"ok": True, "room": state}

        return await self._guard(sid, act)

    async def _joined(self, sid: str, token: str) -> JoinClaims:
        claims = await self._claims(sid, token)
        presence = self.presence.get(claims.consult_id)
        if presence is None or presence.sids.get(claims.user_id) != sid:
            raise BadMessage("not_joined", "join the room before sending media messages")
        return claims

    async def on_offer(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = OfferMessage.parse(data)
            claims = await self._joined(sid, message.token)
            room = self.rooms.get(claims.consult_id)
            others = sorted(room.expected - {claims.user_id}) if room else []
            answer = await self.media.handle_offer(
                claims.consult_id, claims.user_id, message.sdp, receive_from=others
            )
            return {"ok": True, "type": "answer", "sdp": answer}

        return await self._guard(sid, act)

    async def on_candidate(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = CandidateMessage.parse(data)
            claims = await self._joined(sid, message.token)
            await self.media.add_candidate(claims.consult_id, claims.user_id, message.candidate)
            return {"ok": True}

        return await self._guard(sid, act)

    async def on_media_state(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = MediaStateMessage.parse(data)
            claims = await self._joined(sid, message.token)
            self.presence[claims.consult_id].media[claims.user_id] = {
                "audio": message.audio,
                "video": message.video,
            }
            state = await self._room_state(claims.consult_id)
            await self.sio.emit("room:state", state, room=f"room:{claims.consult_id}")
            return {"ok": True}

        return await self._guard(sid, act)

    async def on_leave(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self._joined(sid, JoinMessage.parse(data).token)
            await self._leave(claims.consult_id, claims.user_id)
            await self.sio.leave_room(sid, f"room:{claims.consult_id}")
            return {"ok": True}

        return await self._guard(sid, act)

    # -- carrying out decisions ------------------------------------------------------

    async def _leave(self, consult_id: int, user_id: int) -> None:
        now = time.time()
        presence = self.presence.get(consult_id)
        if presence is not None:
            presence.sids.pop(user_id, None)
        await self.media.leave(consult_id, user_id)
        for decision in self.rooms.leave(consult_id, user_id, now):
            if isinstance(decision, Left):
                await self.consults.record_leave(consult_id, user_id, now)
            elif isinstance(decision, SessionEnd):
                await self._end(consult_id, decision)
                return
        if consult_id in self.presence:
            await self.sio.emit(
                "room:state", await self._room_state(consult_id), room=f"room:{consult_id}"
            )

    async def _end(self, consult_id: int, decision: SessionEnd) -> None:
        await self.media.close_room(consult_id)
        presence = self.presence.pop(consult_id, RoomPresence())
        for user_id in list(presence.sids):
            await self.consults.record_leave(consult_id, user_id, decision.at)
        self.rooms.close(consult_id)
        try:
            await self.consults.session_ended(consult_id, decision.at, decision.reason)
        except ClientError:
            log.warning("consult %s was not in session when its room ended", consult_id)
        await self.sio.emit("room:ended", {"reason": decision.reason}, room=f"room:{consult_id}")

    async def tick(self, now: float) -> None:
        for consult_id, decisions in self.rooms.tick(now):
            for decision in decisions:
                if isinstance(decision, SessionEnd):
                    await self._end(consult_id, decision)

    async def _room_state(self, consult_id: int) -> dict[str, Any]:
        room = self.rooms.get(consult_id)
        presence = self.presence.get(consult_id, RoomPresence())
        participants = []
        for user_id in sorted(room.expected if room else ()):
            user = await self.accounts.user(user_id)
            participants.append(
                {
                    "user_id": user_id,
                    "name": user.display_name if user else "?",
                    "role": user.role.value if user else "?",
                    "present": user_id in presence.sids,
                    **presence.media.get(user_id, {"audio": True, "video": True}),
                }
            )
        return {
            "consult_id": consult_id,
            "state": room.state.value if room else "ended",
            "participants": participants,
        }
