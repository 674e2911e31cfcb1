"""The socket.io edge: who connects, and which job answers each room message.

A socket connects with the login cookie (refused without one) and joins its
``user:<id>`` room, which carries live consult updates. Room sockets also present a
join token at connect time, and every room message carries it again: it is verified
(signature, expiry, user) before anything else happens, and names the room
("consult:12"). Errors come back in the acknowledgement as ``{"error": {"code",
"message"}}`` and change nothing.

The jobs, one module each, share one ``RoomEdge`` (``edge.py``):

- ``joins.py``: join, offer, candidates, mute flags, leave, drops, the ticker, the end;
- ``recording.py``: which rooms are recorded, their files catalogued (an optional port);
- ``showing.py``: "show to everyone", view updates and the pointer;
- ``screens.py``: a presenter's shared screen, a second picture (where the kind allows);
- ``chat.py``: the room's chat (an optional port);
- ``questions.py``: a teaching room's questions (an optional port);
- ``connection_test.py``: the pre-join connection test;
- ``room_state.py``: the room's state, one pure function, emitted from one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio
from aiohttp.web import AppKey

from media.hub import MediaHub
from media.probe import LinkProbes
from signaling.chat import Chat
from signaling.connection_test import ConnectionTests
from signaling.edge import RoomEdge, error, login_channel, user_channel
from signaling.joins import Joins
from signaling.messages import BadMessage
from signaling.ports import AlwaysHere, People, Placement, SignalingSettings
from signaling.questions import Questions
from signaling.recording import RoomRecordings
from signaling.relays import Relays
from signaling.room_kinds import RoomPorts
from signaling.rooms import Rooms
from signaling.screens import Screens
from signaling.showing import Showing
from signaling.socket_server import GuardedServer
from signaling.tokens import JoinClaims, TokenRefused, verify_join_token

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 128 * 1024
PING_INTERVAL = 5
PING_TIMEOUT = 6


def same_host_any_port(origin: str | None, environ: dict[str, Any]) -> bool:
    """socket.io's origin check when pages open room sockets on the host's other ports:
    the page's scheme and host name must be the socket's own."""
    if not origin:
        return True  # not a browser (a browser always sends Origin on a WebSocket)
    parsed = urllib.parse.urlsplit(origin)
    host = environ.get("HTTP_HOST", "")
    own = urllib.parse.urlsplit(f"//{host}")
    return parsed.scheme in ("http", "https") and parsed.hostname == own.hostname


class Signaling:
    def __init__(
        self,
        settings: SignalingSettings,
        people: People,
        media: MediaHub,
        rooms: Rooms,
        room_kinds: Mapping[str, RoomPorts],
        placement: Placement | None = None,
    ) -> None:
        self.settings = settings
        self.placement: Placement = placement or AlwaysHere()
        #: Told each handled event and its time in seconds (metrics).
        self.observers: list[Callable[[str, float], None]] = []
        self.people = people
        self.media = media
        self.rooms = rooms
        #: Set when the server stops: socket disconnects are not people leaving.
        self.stopping = False
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
            cors_allowed_origins=same_host_any_port if settings.any_port_of_host else None,
            logger=False,
            engineio_logger=False,
        )
        self.recordings = RoomRecordings(media, self._kind, self._recording_live)
        self.edge = RoomEdge(self.sio, settings, people, rooms, room_kinds, self.recordings.live)
        self.showing = Showing(self.edge)
        self.screens = Screens(self.edge, media)
        self.relays = Relays(self.edge, media, self.placement)
        self.joins = Joins(
            self.edge, media, self.recordings, self.showing, self.screens, self.relays
        )
        self.chat = Chat(self.edge)
        self.questions = Questions(self.edge)
        #: The far ends of the pre-join connection tests.
        self.probes = LinkProbes(settings.server_ice_servers, candidates=media.candidates)
        self.connection_tests = ConnectionTests(self.edge, self.probes, self.joins.ice)
        handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "connect": self.on_connect,
            "disconnect": self.on_disconnect,
            "room:join": self.joins.on_join,
            "room:offer": self.joins.on_offer,
            "room:candidate": self.joins.on_candidate,
            "room:media": self.joins.on_media_state,
            "room:leave": self.joins.on_leave,
            "room:chat": self.chat.on_chat,
            "room:ask": self.questions.on_ask,
            "room:answer": self.questions.on_answer,
            "room:questions": self.questions.on_list,
            "room:show": self.showing.on_show,
            "room:view": self.showing.on_view,
            "room:pointer": self.showing.on_pointer,
            "room:unshow": self.showing.on_unshow,
            "room:screen": self.screens.on_start,
            "room:screen_stop": self.screens.on_stop,
            "net:ice": self.connection_tests.on_ice,
            "net:probe": self.connection_tests.on_probe,
        }
        for event, handler in handlers.items():
            self.sio.on(event, self._limited(event, handler))

    @property
    def kinds(self) -> Mapping[str, RoomPorts]:
        return self.edge.kinds

    def _kind(self, key: str) -> tuple[RoomPorts, int]:
        return self.edge.kind(key)

    async def _recording_live(self, key: str) -> None:
        await self.edge.emit_state(key)

    def _limited(
        self, event: str, handler: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        """The handler behind the event's rate limit, taking any number of arguments
        (a message of several is one malformed payload, answered as such)."""
        if event in ("connect", "disconnect"):
            return handler

        async def limited(sid: str, *args: object) -> Any:
            if not self.edge.event_limits.allow(sid, event, time.monotonic()):
                return error("rate_limited", "too many messages of this kind; wait a moment")
            started = time.perf_counter()
            try:
                return await handler(sid, args[0] if len(args) == 1 else (args or None))
            finally:
                for observe in self.observers:
                    observe(event, time.perf_counter() - started)

        return limited

    # -- what the rest of the server tells the sockets ---------------------------------

    async def close_sockets(self, login: str, reason: str) -> None:
        """A login ended (sign-out, expiry) or an account was deactivated: every socket
        opened with it is told and closed now, here; with Redis, the other processes'
        pages are told and leave by themselves."""
        room = login_channel(login)
        await self.sio.emit("session:ended", {"reason": reason}, room=room)
        for sid in list(self.sio.manager.get_participants("/", room)):
            sid = sid[0] if isinstance(sid, tuple) else sid
            await self.sio.disconnect(sid)

    def online_here(self) -> list[int]:
        """The users with a page open on this process (a socket connected)."""
        found = []
        for channel, members in self.sio.manager.rooms.get("/", {}).items():
            if isinstance(channel, str) and channel.startswith("user:") and members:
                found.append(int(channel.removeprefix("user:")))
        return found

    async def online(self, users: set[int]) -> set[int]:
        """Which of these users have a page open on any node of the server (the other
        nodes' as of their last heartbeat, at most 2 s old)."""
        here = set(self.online_here()) & users
        if here == users:
            return here
        return here | (await self.placement.online_elsewhere() & users)

    async def notify_users(self, users: set[int], payload: dict[str, Any]) -> None:
        await self.tell_users(users, "consult:update", payload)

    async def tell_users(self, users: set[int], event: str, payload: dict[str, Any]) -> None:
        """Send ``event`` to every page of these users (with Redis, on every node)."""
        for user_id in users:
            await self.sio.emit(event, payload, room=user_channel(user_id))

    async def tell_room(self, key: str, event: str, payload: dict[str, Any]) -> None:
        """Something about the room changed outside signaling (a file was attached):
        tell everyone in it."""
        await self.edge.tell(key, event, payload)

    async def refresh_room(self, key: str) -> None:
        """The room's people changed in the store (an invitation): tell everyone in it,
        through the node that holds the room."""
        if not await self.placement.forward(key, "refresh"):
            await self.joins.refresh(key)

    async def on_forwarded(self, key: str, what: str) -> None:
        """Another node told this one, the room's holder, that ``what`` changed (or,
        from a relayed room's origin, that its sources did)."""
        if what == "refresh":
            await self.joins.refresh(key)
        elif what == "relay:sources":
            await self.relays.sources_changed(key)
        else:
            await self.relays.heard(key, what)

    async def tick(self, now: float) -> None:
        await self.joins.tick(now)

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
            if not await self.placement.holds_here(claims.room) and not self._relayable(claims):
                # Another node holds the room (or took it over): the page asks where.
                raise socketio.exceptions.ConnectionRefusedError(
                    {"code": "room_elsewhere", "message": "this room is on another node"}
                )
        await self.sio.save_session(sid, {"user_id": user.id, "rooms": set()})
        await self.sio.enter_room(sid, user_channel(user.id))
        if user.login:
            await self.sio.enter_room(sid, login_channel(user.login))

    def _relayable(self, claims: JoinClaims) -> bool:
        """A viewer of a room another node holds may watch from here (a relay)."""
        try:
            return self.relays.relayable(claims)
        except BadMessage:
            return False

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.edge.event_limits.forget(sid)
        if self.stopping:
            return  # the server closes the sockets: nobody left, the rooms just stop here
        socket_session = await self.sio.get_session(sid)
        user_id = socket_session["user_id"]
        if socket_session.get("probing"):
            await self.connection_tests.socket_lost(user_id)
        # Not a hang-up (that is room:leave): the seat is kept for the grace.
        await self.joins.socket_lost(sid, user_id, socket_session.get("rooms", set()))

    # -- stopping --------------------------------------------------------------------

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

    async def drain(self, seconds: float) -> int:
        """Move every room off this process, spread over ``seconds`` (each call is
        interrupted once, for as long as its pages take to rejoin elsewhere); return how
        many were moved. New rooms already go elsewhere (the caller marked it draining)."""
        keys = self.rooms.keys()
        relayed = list(self.relays.edges)
        gap = seconds / max(1, len(keys) + len(relayed))
        for index, key in enumerate([*keys, *relayed]):
            if index:
                await asyncio.sleep(gap)
            try:
                if key in relayed:
                    await self.relays.move(key)  # viewers watching from here
                else:
                    await self.joins.move(key)
            except Exception:
                log.exception("could not move %s", key)
        return len(keys) + len(relayed)

    async def finish_recordings(self) -> None:
        """Close every recording cleanly (catalogued complete)."""
        await self.recordings.finish_all()


SIO: AppKey[socketio.AsyncServer] = AppKey("sio")
SIGNALING: AppKey[Signaling] = AppKey("signaling")
