"""The registry of nodes and rooms, on a real redis-server: rooms go to the least loaded
live node, two nodes placing at once agree on one holder, a silent node's rooms move
within its dead time, a draining node takes none, and only a room's holder releases it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from consult_server.cluster.nodes import SocketRoute
from consult_server.cluster.registry import NoLiveNode, RedisRegistry
from signaling.ports import NoAnswer
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.redis

DEAD_AFTER = 0.6


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.from_url(redis_url)
    yield connection
    await connection.aclose()


def node(client: aioredis.Redis, name: str, load: list[int]) -> RedisRegistry:
    return RedisRegistry(
        client,
        name,
        SocketRoute(path=f"/node/{name}/socket.io"),
        lambda: load[0],
        heartbeat=DEAD_AFTER / 3,
        dead_after=DEAD_AFTER,
    )


async def test_rooms_go_to_the_least_loaded_node_and_stay_there(client: aioredis.Redis) -> None:
    busy, idle = [5], [1]
    a, b = node(client, "a", busy), node(client, "b", idle)
    await a.beat()
    await b.beat()
    placed = await a.place("consult:1")
    assert placed.id == "b" and placed.route.path == "/node/b/socket.io"
    # Asked again, from either node: the same holder, even once it is the busier.
    idle[0] = 9
    await b.beat()
    assert (await a.place("consult:1")).id == "b"
    assert (await b.place("consult:1")).id == "b"
    assert (await a.place("consult:2")).id == "a"
    assert await client.get("consult:cluster:room:consult:1") == b"b"


async def test_a_burst_of_placements_spreads_and_each_room_has_one_holder(
    client: aioredis.Redis,
) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [0])
    await a.beat()
    await b.beat()
    rooms = [f"consult:{n}" for n in range(40)]
    # Every room asked for by both nodes at once.
    answers = await asyncio.gather(*(registry.place(room) for room in rooms for registry in (a, b)))
    holders: dict[str, set[str]] = {}
    for index, info in enumerate(answers):
        holders.setdefault(rooms[index // 2], set()).add(info.id)
    assert all(len(ids) == 1 for ids in holders.values()), holders
    counts = [sum(ids == {name} for ids in holders.values()) for name in ("a", "b")]
    assert counts == [20, 20], counts  # each placement counted at once, before a heartbeat


async def test_a_silent_nodes_rooms_move_within_its_dead_time(client: aioredis.Redis) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [3])
    await a.start()
    await b.start()
    try:
        assert (await b.place("consult:7")).id == "a"
        await asyncio.sleep(3 * DEAD_AFTER)  # a keeps beating: its room stays
        assert (await b.place("consult:7")).id == "a"
        assert a._task is not None
        a._task.cancel()  # a stops beating, as a killed process does; its record stays
        silent_at = time.monotonic()
        while (await b.place("consult:7")).id == "a":
            assert time.monotonic() - silent_at < DEAD_AFTER + 0.5, "the room never moved"
            await asyncio.sleep(0.05)
        assert [n.id for n in await b.nodes()] == ["b"]
        assert await client.sismember("consult:cluster:nodes", "a") == 0
    finally:
        await a.stop()
        await b.stop()


async def test_a_draining_node_gives_its_rooms_up_and_none_live_is_an_error(
    client: aioredis.Redis,
) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [4])
    await a.beat()
    await b.beat()
    kept = await a.place("consult:1")
    assert kept.id == "a"
    a.draining = True
    await a.beat()
    assert (await b.place("consult:2")).id == "b"
    assert (await b.place("consult:1")).id == "b"  # asked again, its room moves
    await b.stop()
    # Draining, but the only one left: it takes rooms rather than none.
    assert (await a.place("consult:1")).id == "a"
    assert (await a.place("consult:3")).id == "a"
    await a.stop()
    with pytest.raises(NoLiveNode):
        await a.place("consult:3")


async def test_only_the_holder_releases_a_room(client: aioredis.Redis) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [1])
    await a.beat()
    await b.beat()
    assert (await b.place("consult:5")).id == "a"
    await b.release("consult:5")
    assert await client.get("consult:cluster:room:consult:5") == b"a"
    await a.release("consult:5")
    assert await client.get("consult:cluster:room:consult:5") is None


async def test_a_claim_lasts_while_its_node_holds_the_room(client: aioredis.Redis) -> None:
    held: list[str] = ["consult:1"]
    a = RedisRegistry(
        client,
        "a",
        SocketRoute(port=8081),
        lambda: 0,
        held=lambda: held,
        heartbeat=0.1,
        dead_after=1.0,
        claim=0.4,
    )
    await a.start()
    try:
        assert (await a.place("consult:1")).route.port == 8081
        assert (await a.place("consult:2")).id == "a"
        await asyncio.sleep(1.0)  # 2.5 claims' time: the held room is renewed, not the other
        assert await client.get("consult:cluster:room:consult:1") == b"a"
        assert await client.get("consult:cluster:room:consult:2") is None
    finally:
        await a.stop()


async def test_a_change_is_forwarded_to_the_rooms_holder(client: aioredis.Redis) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [5])
    heard: list[tuple[str, str]] = []

    async def on_message(room: str, what: str) -> None:
        heard.append((room, what))

    a.on_message = on_message
    await a.start()
    await b.start()
    try:
        assert (await b.place("consult:3")).id == "a"
        await asyncio.sleep(0.1)  # a's subscription is up
        assert await b.forward("consult:3", "refresh") is True
        assert await a.forward("consult:3", "refresh") is False  # a holds it: acts itself
        assert await b.forward("consult:4", "refresh") is False  # nobody holds it
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [("consult:3", "refresh")]
    finally:
        await a.stop()
        await b.stop()


async def test_who_is_online_elsewhere_comes_with_the_heartbeats(client: aioredis.Redis) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [0])
    a.set_online(lambda: [11, 12])
    b.set_online(lambda: [13])
    await a.beat()
    await b.beat()
    assert await a.online_elsewhere() == {13}
    assert await b.online_elsewhere() == {11, 12}
    await asyncio.sleep(DEAD_AFTER + 0.2)  # a stops beating: its users are gone with it
    await b.beat()
    assert await b.online_elsewhere() == set()


async def test_a_node_answers_another_s_question_and_a_gone_one_none(
    client: aioredis.Redis,
) -> None:
    a, b = node(client, "a", [0]), node(client, "b", [0])
    heard: list[tuple[str, dict[str, object], str]] = []

    async def answer(room: str, request: dict[str, object], asker: str) -> dict[str, object]:
        heard.append((room, request, asker))
        if request.get("slow"):
            await asyncio.sleep(1.0)
        return {"ok": True, "sdp": f"answer to {request['sdp']}"}

    b.on_ask = answer
    await a.start()
    await b.start()
    try:
        reply = await a.ask("b", "teaching:4", {"sdp": "offer"})
        assert reply == {"ok": True, "sdp": "answer to offer"}
        assert heard == [("teaching:4", {"sdp": "offer"}, "a")]
        # Questions are answered side by side, each on its own reply channel.
        both = await asyncio.gather(
            a.ask("b", "teaching:4", {"sdp": "1"}), a.ask("b", "teaching:5", {"sdp": "2"})
        )
        assert [r["sdp"] for r in both] == ["answer to 1", "answer to 2"]
        with pytest.raises(NoAnswer):
            await a.ask("b", "teaching:4", {"sdp": "x", "slow": True}, within=0.3)
        started = time.monotonic()
        with pytest.raises(NoAnswer):
            await a.ask("gone", "teaching:4", {"sdp": "x"})
        assert time.monotonic() - started < 1, "nobody listening: known at once"
        # A node that answers nothing says so.
        b.on_ask = None
        assert (await a.ask("b", "teaching:4", {}))["error"]["code"] == "not_answered"
    finally:
        await a.stop()
        await b.stop()
