"""/healthz says how late the event loop has been waking: a loop held up shows in it."""

from __future__ import annotations

import asyncio
import gc
import time

from tests.support.inproc import Harness


async def test_a_held_loop_shows_in_the_health_check(harness: Harness) -> None:
    client = await harness.anonymous()
    await asyncio.sleep(0.35)  # a few wakes of the watcher
    status, body = await client.api("GET", "/healthz")
    assert status == 200 and body["ok"] is True
    assert body["loop_lag_ms"]["max"] < 250
    time.sleep(0.3)  # noqa: ASYNC251 - holding the loop is the point
    await asyncio.sleep(0.25)
    _, body = await client.api("GET", "/healthz")
    lag = body["loop_lag_ms"]
    assert lag["max"] >= 250, lag
    assert lag["p50"] <= lag["p99"] <= lag["max"]


async def test_a_full_collection_shows_in_the_health_check(harness: Harness) -> None:
    client = await harness.anonymous()
    _, before = await client.api("GET", "/healthz")
    garbage = []
    for _ in range(200_000):  # cycles only the collector frees, so it has work to do
        node: list[object] = []
        node.append(node)
        garbage.append(node)
    del garbage, node
    gc.collect()
    _, after = await client.api("GET", "/healthz")
    full = after["gc"]["gen2"]
    assert full["collections"] >= before["gc"]["gen2"]["collections"] + 1, after
    assert full["max_ms"] > 0, after
