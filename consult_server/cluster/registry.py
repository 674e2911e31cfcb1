"""Which node holds which room: a registry of live nodes and room claims in Redis.

Every node writes its record (route, load, draining) every ``HEARTBEAT_SECONDS`` under a
key that expires after ``DEAD_AFTER_SECONDS``: a node that stops writing (killed, hung,
cut off) is gone from the registry within that time. A room is placed by one Lua script,
which Redis runs alone: the room stays on its node while that node lives and does not
drain, else it goes to the least loaded live node that is not draining (a draining node
keeps or takes rooms only when it is the last one alive), and the claim is written in
the same step. Two nodes asking at once therefore never both host a room.

Keys, under ``consult:cluster:``: ``node:<id>`` (the record, expiring), ``nodes`` (the
ids ever seen, pruned as records expire), ``room:<room key>`` (the id of its node; it
expires ``CLAIM_SECONDS`` after the last heartbeat of a node still holding the room).

``LocalRegistry`` is one process alone: every room is its own, nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import redis.asyncio as aioredis
from aiohttp.web import AppKey

from consult_server.cluster.nodes import NodeInfo, SocketRoute
from signaling.ports import NoAnswer

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 6.0
#: A claim lasts this long unless its node, still holding the room, renews it with each
#: heartbeat: a room placed but never joined, or ended, leaves nothing behind for long.
CLAIM_SECONDS = 120.0
PREFIX = "consult:cluster:"

# ARGV: prefix, room key, claim ms. Returns the owner's record (JSON), or nil when no node lives.
_PLACE = """
local prefix, room = ARGV[1], ARGV[2]
local room_key = prefix .. 'room:' .. room
local owner = redis.call('GET', room_key)
local owner_record = nil
if owner then
  owner_record = redis.call('GET', prefix .. 'node:' .. owner)
  -- A live holder keeps its room, unless it drains (then the room moves, if it can).
  if owner_record and not cjson.decode(owner_record).draining then return owner_record end
end
if owner_record then
  -- Its draining holder keeps it if no other node can take it.
  for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
    local record = redis.call('GET', prefix .. 'node:' .. id)
    if record and id ~= owner and not cjson.decode(record).draining then
      owner_record = nil
      break
    end
  end
  if owner_record then return owner_record end
end
-- The least loaded live node not draining; if all drain, the least loaded of them.
local best, best_record, best_load, best_draining = nil, nil, nil, true
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
  local record = redis.call('GET', prefix .. 'node:' .. id)
  if not record then
    redis.call('SREM', prefix .. 'nodes', id)
  else
    local node = cjson.decode(record)
    local draining = node.draining and true or false
    if best == nil or (best_draining and not draining)
        or (draining == best_draining and (node.load < best_load
            or (node.load == best_load and id < best))) then
      best, best_record, best_load, best_draining = id, record, node.load, draining
    end
  end
end
if not best then return nil end
redis.call('SET', room_key, best, 'PX', ARGV[3])
-- Count the room at once, so a burst of placements spreads before the next heartbeat.
local node = cjson.decode(best_record)
node.load = node.load + 1
local record = cjson.encode(node)
redis.call('SET', prefix .. 'node:' .. best, record, 'KEEPTTL')
return record
"""

# ARGV: prefix, node id, claim ms, room keys... Renews the claims still this node's.
_RENEW = """
local prefix, me, ms = ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV do
  local room_key = prefix .. 'room:' .. ARGV[i]
  if redis.call('GET', room_key) == me then redis.call('PEXPIRE', room_key, ms) end
end
return 0
"""

# ARGV: key, node id, ms. Extends a job's claim only if it is still that node's.
_KEEP = """
if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('PEXPIRE', ARGV[1], ARGV[3]) end
return 0
"""

# ARGV: prefix, room key, node id. Forgets the claim only if it is still that node's.
_RELEASE = """
local room_key = ARGV[1] .. 'room:' .. ARGV[2]
if redis.call('GET', room_key) == ARGV[3] then return redis.call('DEL', room_key) end
return 0
"""


#: How long :meth:`RedisRegistry.ask` waits for the other node's answer.
ASK_SECONDS = 10.0

#: (room, request, asking node) -> the answer: what a node answers another's question.
AskHandler = Callable[[str, dict[str, Any], str], Awaitable[dict[str, Any]]]


class NoLiveNode(Exception):
    """No node is alive to take a room."""


class Registry(Protocol):
    """Where rooms live."""

    @property
    def node_id(self) -> str: ...

    @property
    def takes_rooms(self) -> bool:
        """New rooms may be placed here (not draining)."""
        ...

    def here(self) -> NodeInfo:
        """This node's own record (a teaching viewer's page opens its socket here)."""
        ...

    async def place(self, room: str) -> NodeInfo:
        """The node that holds ``room``, placing it first if no live node does."""
        ...

    async def release(self, room: str) -> None:
        """``room`` has nobody left on this node: the next join may place it anew."""
        ...

    async def holds_here(self, room: str) -> bool:
        """Is ``room`` held by this node (placing it here if nobody holds it and this
        node is the least loaded)?"""
        ...

    async def holder(self, room: str) -> str | None:
        """The id of the node holding ``room`` (placing it if none does)."""
        ...

    async def forward(self, room: str, what: str) -> bool:
        """Tell the node holding ``room`` (if another) that ``what`` changed (it calls its
        ``on_message``); False when the room is held here or nowhere."""
        ...

    async def ask(self, node: str, room: str, request: dict[str, Any]) -> dict[str, Any]:
        """Ask ``node`` about ``room`` (its ``on_ask`` answers); NoAnswer if none comes."""
        ...

    async def tell_node(self, node: str, what: str, room: str = "") -> int:
        """Tell ``node`` that ``what`` happened (about ``room``)."""
        ...

    async def claim_once(self, job: str, seconds: float) -> bool:
        """Whether this node, of all, does ``job`` (a scheduled backup): the first to
        ask wins, and the claim lasts ``seconds`` unless kept (:meth:`keep_claim`)."""
        ...

    async def keep_claim(self, job: str, seconds: float) -> None:
        """Still at ``job``: the claim lasts ``seconds`` more (if it is still ours)."""
        ...

    async def online_elsewhere(self) -> set[int]:
        """Users with a page open on another live node (as of its last heartbeat)."""
        ...


class LocalRegistry:
    """One process alone: every room is here, reached where the page came from."""

    def __init__(self) -> None:
        self._me = NodeInfo(id="local", route=SocketRoute())

    @property
    def node_id(self) -> str:
        return self._me.id

    @property
    def takes_rooms(self) -> bool:
        return True

    def here(self) -> NodeInfo:
        return self._me

    async def place(self, room: str) -> NodeInfo:
        return self._me

    async def release(self, room: str) -> None:
        return None

    async def holds_here(self, room: str) -> bool:
        return True

    async def holder(self, room: str) -> str | None:
        return self._me.id

    async def forward(self, room: str, what: str) -> bool:
        return False

    async def ask(self, node: str, room: str, request: dict[str, Any]) -> dict[str, Any]:
        raise NoAnswer(node)

    async def tell_node(self, node: str, what: str, room: str = "") -> int:
        return 0

    async def claim_once(self, job: str, seconds: float) -> bool:
        return True

    async def keep_claim(self, job: str, seconds: float) -> None:
        return None

    async def online_elsewhere(self) -> set[int]:
        return set()


class RedisRegistry:
    """This node's record in Redis, kept fresh while it runs, and room placement."""

    def __init__(
        self,
        client: aioredis.Redis,
        node_id: str,
        route: SocketRoute,
        load: Callable[[], int],
        held: Callable[[], Iterable[str]] = tuple,
        online: Callable[[], Iterable[int]] = tuple,
        prefix: str = PREFIX,
        heartbeat: float = HEARTBEAT_SECONDS,
        dead_after: float = DEAD_AFTER_SECONDS,
        claim: float = CLAIM_SECONDS,
    ) -> None:
        self.client = client
        self._id = node_id
        self._route = route
        self._load = load
        self._held = held
        self._online = online
        self._prefix = prefix
        self._heartbeat = heartbeat
        self._dead_after = dead_after
        self._claim_ms = int(claim * 1000)
        self.draining = False
        #: Did Redis answer the last heartbeat?
        self.redis_answered = False
        self._place = client.register_script(_PLACE)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        self._keep = client.register_script(_KEEP)
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False
        #: Called with (room, what) for each message another node forwards here.
        self.on_message: Callable[[str, str], Awaitable[None]] | None = None
        #: Answers another node's question (see :meth:`ask`).
        self.on_ask: AskHandler | None = None
        self._answering: set[asyncio.Task[None]] = set()
        self._listening = asyncio.Event()

    @property
    def node_id(self) -> str:
        return self._id

    @property
    def takes_rooms(self) -> bool:
        return not self.draining

    def set_online(self, online: Callable[[], Iterable[int]]) -> None:
        """Who has a page open here, written with each heartbeat."""
        self._online = online

    def record(self) -> NodeInfo:
        return NodeInfo(self._id, self._route, self._load(), self.draining)

    def here(self) -> NodeInfo:
        return self.record()

    async def beat(self) -> None:
        """Write this node's record (alive for ``dead_after`` seconds more)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(
                f"{self._prefix}node:{self._id}",
                self.record().to_json(),
                px=int(self._dead_after * 1000),
            )
            pipe.sadd(f"{self._prefix}nodes", self._id)
            online_key = f"{self._prefix}online:{self._id}"
            pipe.delete(online_key)
            users = [str(user) for user in self._online()]
            if users:
                pipe.sadd(online_key, *users)
                pipe.pexpire(online_key, int(self._dead_after * 1000))
            await pipe.execute()
        held = list(self._held())
        if held:
            await self._renew(args=[self._prefix, self._id, self._claim_ms, *held])

    async def start(self) -> None:
        """Join the cluster now, and keep beating until :meth:`stop`."""
        await self.beat()
        self.redis_answered = True
        self._task = asyncio.create_task(self._beat_forever())
        self._listener = asyncio.create_task(self._listen())
        # Listening before the start is over: a question asked right after is heard.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self._dead_after)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self.beat()
                self.redis_answered = True
            except aioredis.RedisError as exc:
                self.redis_answered = False
                # Unreachable for a moment: the others will count this node dead after
                # DEAD_AFTER_SECONDS, and its rooms move; it rejoins when Redis answers.
                log.warning("cluster heartbeat failed: %s", type(exc).__name__)

    async def stop(self) -> None:
        """Leave the cluster at once (a clean stop): the others place its rooms anew."""
        self._stopping = True
        tasks = [task for task in (self._task, self._listener) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2 * self._heartbeat + 1)
        self._task = self._listener = None
        with contextlib.suppress(aioredis.RedisError):
            await self.client.delete(
                f"{self._prefix}node:{self._id}", f"{self._prefix}online:{self._id}"
            )

    async def place(self, room: str) -> NodeInfo:
        record = await self._place(args=[self._prefix, room, self._claim_ms])
        if record is None:
            raise NoLiveNode(room)
        return NodeInfo.from_json(record)

    async def release(self, room: str) -> None:
        await self._release(args=[self._prefix, room, self._id])

    async def drain(self) -> None:
        """Take no new rooms, and let this node's rooms be placed elsewhere."""
        self.draining = True
        await self.beat()

    async def tell_node(self, node: str, what: str, room: str = "") -> int:
        """Send ``what`` (about ``room``) to ``node`` (``consult-server drain``, a relay's
        sources changed); how many heard it."""
        message = node_message(what, room)
        return int(await self.client.publish(node_channel(node, self._prefix), message))

    async def claim_once(self, job: str, seconds: float) -> bool:
        key = f"{self._prefix}once:{job}"
        won = await self.client.set(key, self._id, nx=True, px=max(1, int(seconds * 1000)))
        return bool(won)

    async def keep_claim(self, job: str, seconds: float) -> None:
        await self._keep(args=[f"{self._prefix}once:{job}", self._id, int(seconds * 1000)])

    async def holder(self, room: str) -> str | None:
        """The id of the node holding ``room`` now (placing it if nobody does)."""
        try:
            return (await self.place(room)).id
        except NoLiveNode:
            return None

    async def ask(
        self, node: str, room: str, request: dict[str, Any], within: float = ASK_SECONDS
    ) -> dict[str, Any]:
        """Ask ``node`` about ``room`` and wait for its answer (its ``on_ask``), over a
        reply channel of this question's own; NoAnswer if it is gone or too slow."""
        reply_to = f"{self._prefix}reply:{uuid.uuid4().hex}"
        message = json.dumps(
            {"room": room, "what": "ask", "request": request, "from": self._id, "reply": reply_to}
        )
        async with self.client.pubsub() as pubsub:
            await pubsub.subscribe(reply_to)
            if not await self.client.publish(node_channel(node, self._prefix), message):
                raise NoAnswer(node)
            deadline = asyncio.get_running_loop().time() + within
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                answer = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                if answer is not None:
                    data = json.loads(answer["data"])
                    if not isinstance(data, dict):
                        raise NoAnswer(node)
                    return data
        raise NoAnswer(node)

    async def _answer(self, data: dict[str, Any]) -> None:
        """Answer another node's question (in a task of its own: the listener goes on)."""
        answer: dict[str, Any]
        try:
            if self.on_ask is None:
                answer = {"error": {"code": "not_answered", "message": "this node answers nothing"}}
            else:
                answer = await self.on_ask(
                    str(data["room"]), dict(data["request"]), str(data["from"])
                )
        except Exception:
            log.exception("a cluster question failed")
            answer = {"error": {"code": "internal", "message": "the node could not answer"}}
        with contextlib.suppress(aioredis.RedisError):
            await self.client.publish(str(data["reply"]), json.dumps(answer))

    async def holds_here(self, room: str) -> bool:
        try:
            return (await self.place(room)).id == self._id
        except NoLiveNode:
            return False

    async def forward(self, room: str, what: str) -> bool:
        holder = await self.client.get(f"{self._prefix}room:{room}")
        if holder is None or _text(holder) == self._id:
            return False
        await self.client.publish(
            node_channel(_text(holder), self._prefix), node_message(what, room)
        )
        return True

    async def online_elsewhere(self) -> set[int]:
        found: set[int] = set()
        for node in await self.nodes():
            if node.id != self._id:
                members = await self.client.smembers(f"{self._prefix}online:{node.id}")
                found.update(int(_text(m)) for m in members)
        return found

    async def _listen(self) -> None:
        """Messages for this node (see :meth:`forward`), handed to ``on_message``. It
        looks at least once a second whether the node is stopping (redis-py's reads do
        not always give way to a cancellation)."""
        while not self._stopping:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(node_channel(self._id, self._prefix))
                    self._listening.set()
                    while not self._stopping:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is None:
                            continue
                        data = json.loads(message["data"])
                        if data.get("what") == "ask":
                            task = asyncio.create_task(self._answer(data))
                            self._answering.add(task)
                            task.add_done_callback(self._answering.discard)
                        elif self.on_message is not None:
                            await self.on_message(str(data["room"]), str(data["what"]))
            except aioredis.RedisError as exc:
                log.warning("cluster messages lost for a moment: %s", type(exc).__name__)
                await asyncio.sleep(self._heartbeat)
            except (ValueError, KeyError):
                log.warning("a malformed cluster message was ignored")

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes' records (for /healthz, metrics and tests)."""
        ids = sorted(await self.client.smembers(f"{self._prefix}nodes"))
        found = []
        for node_id in ids:
            text = await self.client.get(f"{self._prefix}node:{_text(node_id)}")
            if text is not None:
                found.append(NodeInfo.from_json(text))
        return found


def node_channel(node: str, prefix: str = PREFIX) -> str:
    """The pub/sub channel a node listens on (``RedisRegistry._listen``)."""
    return f"{prefix}to:{node}"


def node_message(what: str, room: str = "") -> str:
    """A message for a node's channel: ``what`` happened (about ``room``)."""
    return json.dumps({"room": room, "what": what})


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


REGISTRY: AppKey[Registry] = AppKey("cluster_registry")
