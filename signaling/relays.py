"""Teaching rooms across nodes: a viewer watches from the node their page came from.

The room lives on its origin, the node the registry placed it on (the presenters join
there). A viewer whose socket reached another node, an edge, joins there: the edge
keeps the viewer's seat and media, and takes the room's pictures from the origin once,
over one relay peer (``MediaHub.relay_offer``), however many of its viewers watch.

Between the two nodes (``Placement.ask`` and ``tell_node``, over the registry):

- "sources" (edge asks the origin): the room's media order and state;
- "relay" (edge asks): the relay's offer, answered as a receive-only participant with a
  relay id of its own (below ``RELAY_BASE``: never a person or a screen);
- "viewers" and "unrelay" (edge tells): how many watch from the edge (the room's state
  counts them), and that its last viewer left;
- "relay:sources" (origin tells the edge): the sources changed (a screen shared or
  stopped); the edge builds its relay again, and its viewers' new offers wait for it.

What the origin emits to the room (its state, questions, its end) reaches the edge's
sockets through socket.io's Redis manager; an edge emits no room state of its own. A
relay lost (the origin died or drained) is built again from wherever the room is placed
now, for as long as the edge has viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from media.hub import MediaHub
from signaling.edge import Ack, RoomEdge, error, log_failure, room_channel
from signaling.messages import BadMessage
from signaling.ports import NoAnswer, Placement
from signaling.room_state import RoomPresence, media_order
from signaling.tokens import JoinClaims

log = logging.getLogger(__name__)

#: Relay peers' media ids are below this: never a person (> 0) nor a screen (-person).
RELAY_BASE = -(2**40)
#: An edge's own relay peer in its media hub (one per room).
EDGE_RELAY = RELAY_BASE
#: An edge tells its viewer count at most this often; the origin's state follows.
COUNT_EVERY = 0.5
#: Seconds between attempts to build a lost relay again.
RETRY_SECONDS = (0.5, 1.0, 2.0, 3.0)


def is_relay(media_id: int) -> bool:
    return media_id <= RELAY_BASE


@dataclass
class EdgeRoom:
    """A room this node relays for its viewers."""

    sources: tuple[int, ...] = ()
    #: The origin's state as of the last "sources" answer (for a join's answer).
    state: dict[str, Any] = field(default_factory=dict)
    #: The relay being built (its viewers' offers wait for it).
    building: asyncio.Task[None] | None = None
    #: A dropped viewer's seat, given up when its timer fires.
    dropped: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    #: The origin is about to be told this node's count.
    counting: bool = False


@dataclass
class OriginRelay:
    """A node relaying one of this node's rooms."""

    relay_id: int
    sources: tuple[int, ...]


class Relays:
    def __init__(
        self,
        edge: RoomEdge,
        media: MediaHub,
        placement: Placement,
    ) -> None:
        self.edge = edge
        self.media = media
        self.placement = placement
        #: Rooms relayed here for this node's viewers.
        self.edges: dict[str, EdgeRoom] = {}
        #: This node's rooms relayed by others: room -> node -> its relay.
        self.origins: dict[str, dict[str, OriginRelay]] = {}
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        #: Rooms whose state is about to be sent (edges' counts coalesced).
        self._stating: set[str] = set()
        media.on_relay_lost = self._relay_lost
        edge.on_state = self._state_sent
        edge.quiet = self.relayed_here

    def relayed_here(self, key: str) -> bool:
        return key in self.edges

    def relayable(self, claims: JoinClaims) -> bool:
        """A viewer of a kind of room that edges relay (teaching sessions)."""
        ports, _ = self.edge.kind(claims.room)
        return ports.relayed and claims.role == "viewer"

    # -- the edge: viewers ------------------------------------------------------------

    async def join(self, sid: str, claims: JoinClaims) -> Ack:
        """A viewer joins a room held by another node: seat and media here."""
        key = claims.room
        user_id = claims.user_id
        presence = self.edge.presence.setdefault(key, RoomPresence())
        previous = presence.sids.get(user_id)
        if previous is not None and previous != sid:
            await self.edge.sio.emit("room:replaced", {}, to=previous)
            await self.media.leave(key, user_id)
        room = self.edges.setdefault(key, EdgeRoom())
        timer = room.dropped.pop(user_id, None)
        if timer is not None:
            timer.cancel()  # back within the grace: the same seat
        presence.sids[user_id] = sid
        socket_session = await self.edge.sio.get_session(sid)
        socket_session["rooms"].add(key)
        await self.edge.sio.enter_room(sid, room_channel(key))
        ports, number = self.edge.kind(key)
        if previous is None and timer is None:
            await ports.rooms.joined(number, user_id, claims.role, time.time())
        try:
            await self._ready(key, room, fresh=True)
        except BadMessage:
            await self._forget_viewer(key, user_id)
            raise
        self._count_soon(key)
        return {"ok": True, "room": room.state, "media": self.media.live(key, user_id)}

    def sources(self, key: str) -> list[int]:
        room = self.edges.get(key)
        return list(room.sources) if room else []

    async def ready(self, key: str) -> None:
        """The room's sources as the origin has them now, relayed here (a viewer's offer
        needs them: told of a new screen by the origin's state, its page may offer
        before this node hears of it)."""
        room = self.edges.get(key)
        if room is not None:
            await self._ready(key, room, fresh=True)

    async def leave(self, key: str, user_id: int) -> None:
        await self._forget_viewer(key, user_id)

    def lost(self, key: str, user_id: int, grace: float) -> None:
        """A viewer's socket dropped: the seat (and media) kept for the grace."""
        room = self.edges.get(key)
        presence = self.edge.presence.get(key)
        if room is None or presence is None:
            return
        presence.sids.pop(user_id, None)
        dropped_at = time.time()

        def give_up() -> None:
            # Left when the socket dropped: not a seat they took since on another node.
            room.dropped.pop(user_id, None)
            self._spawn(self._forget_viewer(key, user_id, dropped_at))

        room.dropped[user_id] = asyncio.get_running_loop().call_later(grace, give_up)

    async def _forget_viewer(self, key: str, user_id: int, at: float | None = None) -> None:
        presence = self.edge.presence.get(key)
        if presence is not None:
            presence.sids.pop(user_id, None)
        await self.media.leave(key, user_id)
        ports, number = self.edge.kind(key)
        await ports.rooms.left(number, user_id, time.time() if at is None else at)
        room = self.edges.get(key)
        if room is None:
            return
        timer = room.dropped.pop(user_id, None)
        if timer is not None:
            timer.cancel()
        if presence is None or (not presence.sids and not room.dropped):
            await self.close(key, tell_origin=True)
        else:
            self._count_soon(key)

    async def move(self, key: str) -> None:
        """This node drains: its viewers of ``key`` are told to go (their pages ask where
        to watch, and are sent to a node that takes rooms), and the relay is given up."""
        presence = self.edge.presence.get(key)
        for sid in list(presence.sids.values()) if presence else []:
            await self.edge.sio.emit("room:move", {}, to=sid)
        await self.close(key, tell_origin=True)

    async def close(self, key: str, tell_origin: bool) -> None:
        """Stop relaying ``key`` here (the last viewer left, or the room ended)."""
        room = self.edges.pop(key, None)
        if room is None:
            return
        for timer in room.dropped.values():
            timer.cancel()
        if room.building is not None:
            room.building.cancel()
        self.edge.presence.pop(key, None)
        await self.media.close_room(key)
        if tell_origin:
            with contextlib.suppress(Exception):
                await self.placement.forward(key, f"unrelay:{self.placement.node_id}")

    def _viewers(self, key: str) -> int:
        """This node's viewers of ``key``, those whose seats are kept included."""
        presence = self.edge.presence.get(key)
        room = self.edges.get(key)
        return (len(presence.sids) if presence else 0) + (len(room.dropped) if room else 0)

    def _count_soon(self, key: str) -> None:
        """Tell the origin this node's viewers within ``COUNT_EVERY`` seconds: one
        message for a burst of joins, not one each (the origin sends its state to every
        viewer of every node when the count changes)."""
        room = self.edges.get(key)
        if room is None or room.counting:
            return
        room.counting = True

        async def count() -> None:
            await asyncio.sleep(COUNT_EVERY)
            room.counting = False
            if self.edges.get(key) is not room:
                return
            what = f"viewers:{self.placement.node_id}:{self._viewers(key)}"
            with contextlib.suppress(Exception):
                await self.placement.forward(key, what)

        self._spawn(count())

    # -- the edge: the relay ------------------------------------------------------------

    async def _ready(self, key: str, room: EdgeRoom, fresh: bool = False) -> None:
        """Wait for the relay; build it first if there is none (``fresh``: ask the origin
        again, and build it again only if its sources changed)."""
        if room.building is None and (fresh or not room.sources):
            room.building = asyncio.create_task(self._build(key, room))
        task = room.building
        if task is None:
            return
        try:
            await asyncio.shield(task)
        finally:
            if room.building is task and task.done():
                room.building = None

    async def _build(self, key: str, room: EdgeRoom) -> None:
        """Ask the origin for the room's sources and state; relay the sources here
        unless this node already does."""
        origin = await self.placement.holder(key)
        if origin is None or origin == self.placement.node_id:
            raise BadMessage("room_elsewhere", "this room is on another node")
        try:
            found = _checked(await self.placement.ask(origin, key, {"op": "sources"}))
            sources = tuple(int(s) for s in found["sources"])
            if sources != room.sources or not self.media.live(key, EDGE_RELAY):
                offer = await self.media.relay_offer(key, EDGE_RELAY, sources)
                question = {
                    "op": "relay",
                    "sdp": offer,
                    "sources": list(sources),
                    "viewers": self._viewers(key),
                }
                reply = _checked(await self.placement.ask(origin, key, question))
                await self.media.relay_answer(key, EDGE_RELAY, str(reply["sdp"]))
                log.info("%s: relayed from node %s (%d sources)", key, origin, len(sources))
        except NoAnswer:
            raise BadMessage("room_unavailable", "the room's server did not answer") from None
        room.sources = sources
        room.state = dict(found["state"])

    def _relay_lost(self, key: str, reason: str) -> None:
        """From the media hub: the relay from the origin failed or closed."""
        if key in self.edges:
            log.warning("%s: relay lost (%s); building it again", key, reason)
            self._spawn(self._rebuild(key))

    async def _rebuild(self, key: str) -> None:
        for attempt in range(60):
            room = self.edges.get(key)
            if room is None:
                return
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            room = self.edges.get(key)
            if room is None:
                return
            try:
                await self._ready(key, room, fresh=True)  # the relay is not live: rebuilt
                return
            except BadMessage as exc:
                if exc.code in ("room_closed", "room_ended"):
                    log.info("%s: the room ended; relay closed", key)
                    await self.close(key, tell_origin=False)
                    return
            except Exception:
                log.warning("%s: relay not built yet", key, exc_info=True)
        log.warning("%s: relay not built again; closed", key)

    async def sources_changed(self, key: str) -> None:
        """The origin's sources changed: build the relay again with the new ones."""
        room = self.edges.get(key)
        if room is not None:
            await self._ready(key, room, fresh=True)

    # -- the origin ---------------------------------------------------------------------

    async def answer(self, key: str, request: dict[str, Any], node: str) -> dict[str, Any]:
        """Another node's question about a room held here."""
        if not await self.placement.holds_here(key):
            return error("room_elsewhere", "this room is on another node")
        op = request.get("op")
        if op == "sources":
            return await self._sources(key)
        if op == "relay":
            sources = [int(s) for s in request.get("sources", [])]
            relays = self.origins.setdefault(key, {})
            old = relays.pop(node, None)
            if old is not None:
                await self.media.leave(key, old.relay_id)
            relay_id = RELAY_BASE - self._next_id
            self._next_id += 1
            answer = await self.media.handle_offer(
                key, relay_id, str(request.get("sdp", "")), receive_from=sources, publish=False
            )
            relays[node] = OriginRelay(relay_id, tuple(sources))
            self._set_count(key, node, int(request.get("viewers", 0)))
            return {"ok": True, "sdp": answer}
        return error("bad_request", "unknown question")

    async def _sources(self, key: str) -> dict[str, Any]:
        ports, number = self.edge.kind(key)
        spec = await ports.rooms.spec(number)
        if not spec.joinable:
            return error("room_closed", f"this room is closed ({spec.state})")
        room = self.edge.open_room(spec)
        presence = self.edge.presence.setdefault(key, RoomPresence())
        return {
            "ok": True,
            "sources": media_order(room, presence),
            "state": await self.edge.state(key),
        }

    async def heard(self, key: str, what: str) -> bool:
        """A message forwarded here about a room held here; False if not a relay's."""
        if what.startswith("viewers:"):
            _, node, count = what.split(":")
            self._set_count(key, node, int(count))
            return True
        if what.startswith("unrelay:"):
            await self._let_go(key, what.removeprefix("unrelay:"))
            return True
        return False

    async def _let_go(self, key: str, node: str) -> None:
        """``node`` relays ``key`` no more: its relay peer closed, its viewers uncounted."""
        relay = self.origins.get(key, {}).pop(node, None)
        if relay is not None:
            await self.media.leave(key, relay.relay_id)
        presence = self.edge.presence.get(key)
        if presence is not None and presence.relayed_viewers.pop(node, None) is not None:
            self.state_soon(key)

    def _set_count(self, key: str, node: str, count: int) -> None:
        """A relaying node's viewers: the room's state follows if the count changed."""
        presence = self.edge.presence.get(key)
        if presence is not None and presence.relayed_viewers.get(node) != count:
            presence.relayed_viewers[node] = count
            self.state_soon(key)

    def state_soon(self, key: str) -> None:
        """Send the room's state within ``COUNT_EVERY`` seconds: edges' counts arriving
        together make one message to every viewer, not one each."""
        if key in self._stating:
            return
        self._stating.add(key)

        async def send() -> None:
            await asyncio.sleep(COUNT_EVERY)
            self._stating.discard(key)
            await self.edge.emit_state(key)

        self._spawn(send())

    async def relay_lost_here(self, key: str, relay_id: int) -> None:
        """The origin's end of a relay failed or closed (its edge died, or replaced it:
        a new relay then brings the edge's count again): let it go."""
        relays = self.origins.get(key, {})
        node = next((n for n, relay in relays.items() if relay.relay_id == relay_id), None)
        if node is not None:
            await self._let_go(key, node)
        await self.media.leave(key, relay_id)

    def forget_origin(self, key: str) -> None:
        """The room ended or moved away from here."""
        self.origins.pop(key, None)

    def _state_sent(self, key: str, state: dict[str, Any]) -> None:
        """The origin sent its room's state: tell each relaying node whose sources it
        no longer matches."""
        relays = self.origins.get(key)
        if not relays:
            return
        order = tuple(state.get("publishers", ()))
        for node, relay in relays.items():
            if relay.sources != order:
                relay.sources = order
                self._spawn(self._tell(node, key))

    async def _tell(self, node: str, key: str) -> None:
        await self.placement.tell_node(node, "relay:sources", key)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    """The other node's answer, or its refusal raised as ours."""
    refusal = answer.get("error")
    if isinstance(refusal, dict):
        raise BadMessage(str(refusal.get("code", "internal")), str(refusal.get("message", "")))
    return answer
