"""What the socket edge's jobs share: the socket server, the rooms and who is in them,
the kinds of room, and the checks every room message passes.

Each job (``joins.py``, ``recording.py``, ``showing.py``, ``chat.py``,
``connection_test.py``) takes one ``RoomEdge``; ``handlers.Signaling`` builds them and
routes each socket event to its job. Every message is answered: its result, a refusal
(``{"error": {"code", "message"}}``, nothing changed), or, for a fault of ours,
"internal", logged within a budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio

from media.errors import ConsultServerError
from signaling.event_limits import EventLimits
from signaling.messages import BadMessage
from signaling.ports import People, Person, SignalingSettings
from signaling.room import Room
from signaling.room_kinds import RoomPorts, RoomSpec, parse_room_key
from signaling.room_state import RoomPresence, people_in, room_state
from signaling.rooms import Rooms
from signaling.socket_server import LogBudget
from signaling.tokens import JoinClaims, verify_join_token

log = logging.getLogger(__name__)
Ack = dict[str, Any]


def log_failure(task: asyncio.Task[None]) -> None:
    """A task started from a callback (the media hub's) failed: say so in the log."""
    if not task.cancelled() and task.exception() is not None:
        log.error("room task failed", exc_info=task.exception())


def error(code: str, message: str) -> Ack:
    return {"error": {"code": code, "message": message}}


def room_channel(key: str) -> str:
    """The socket.io room of the sockets in room ``key``."""
    return f"room:{key}"


def user_channel(user_id: int) -> str:
    """The socket.io room of every socket of one user (live consult updates)."""
    return f"user:{user_id}"


def login_channel(login: str) -> str:
    """The socket.io room of the sockets opened with one login (closed with it)."""
    return f"login:{login}"


class RoomEdge:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        settings: SignalingSettings,
        people: People,
        rooms: Rooms,
        kinds: Mapping[str, RoomPorts],
        recording_shown: Callable[[str], bool],
    ) -> None:
        self.sio = sio
        self.settings = settings
        self.people = people
        self.rooms = rooms
        self.kinds = dict(kinds)
        #: Whether a room shows the recording indicator (its first frame is in a file).
        self.recording_shown = recording_shown
        self.presence: dict[str, RoomPresence] = {}
        #: How many messages of each kind a socket may send (signaling/event_limits.py).
        self.event_limits = EventLimits()
        #: Messages that failed on our side (answered "internal").
        self.fault_log = LogBudget()
        #: Told each state sent (the relays compare its sources with theirs).
        self.on_state: Callable[[str, dict[str, Any]], None] | None = None
        #: Rooms whose state this node does not send (relayed here: their origin does).
        self.quiet: Callable[[str], bool] = lambda key: False

    def kind(self, key: str) -> tuple[RoomPorts, int]:
        """The kind of room ``key`` names, and its id."""
        try:
            kind, number = parse_room_key(key)
            return self.kinds[kind], number
        except (ValueError, KeyError):
            raise BadMessage("token_invalid", "the join token names no room") from None

    def open_room(self, spec: RoomSpec) -> Room:
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

    async def claims(self, sid: str, token: str) -> JoinClaims:
        """The token's claims, if it is valid and the socket's user's."""
        socket_session = await self.sio.get_session(sid)
        claims = verify_join_token(self.settings.secret, token, time.time())
        if claims.user_id != socket_session.get("user_id"):
            raise BadMessage("token_invalid", "this join token is not yours")
        return claims

    async def joined(self, sid: str, token: str) -> JoinClaims:
        """The claims of a socket that joined the room its token names."""
        claims = await self.claims(sid, token)
        presence = self.presence.get(claims.room)
        if presence is None or presence.sids.get(claims.user_id) != sid:
            raise BadMessage("not_joined", "join the room before sending media messages")
        return claims

    async def guard(self, sid: str, action: Callable[[], Awaitable[Ack]]) -> Ack:
        """Every message is answered: its result, a refusal, or (a fault of ours) an
        internal error, logged within a budget."""
        try:
            return await action()
        except ConsultServerError as exc:
            log.info("refused %s for sid %s", exc.code, sid)
            return error(exc.code, exc.message)
        except Exception:
            self.fault_log.warn("a socket message failed", exc_info=True)
            return error("internal", "the server could not handle this message; try again")

    async def state(self, key: str) -> dict[str, Any]:
        """What ``room:state`` says about room ``key`` now."""
        room = self.rooms.get(key)
        presence = self.presence.get(key, RoomPresence())
        people: dict[int, Person | None] = {
            user_id: await self.people.person(user_id) for user_id in people_in(room, presence)
        }
        return room_state(key, room, presence, people, self.recording_shown(key), time.time())

    async def emit_state(self, key: str, only_if_open: bool = True) -> dict[str, Any] | None:
        """Tell everyone in room ``key`` its state: the one place ``room:state`` is sent.
        ``only_if_open``: not once the room has closed here (nobody is left to tell)."""
        if (only_if_open and key not in self.presence) or self.quiet(key):
            return None
        state = await self.state(key)
        await self.sio.emit("room:state", state, room=room_channel(key))
        if self.on_state is not None:
            self.on_state(key, state)
        return state

    async def tell(self, key: str, event: str, payload: dict[str, Any], **kw: Any) -> None:
        """Send ``event`` to everyone in room ``key`` (``skip_sid``: but the sender)."""
        await self.sio.emit(event, payload, room=room_channel(key), **kw)
