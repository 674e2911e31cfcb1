"""/healthz says how late the event loop has been waking: a loop held up shows in it."""

from __future__ import annotations

import asyncio
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
