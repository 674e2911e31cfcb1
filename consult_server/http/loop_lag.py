"""How late the event loop wakes: every packet this process forwards waits for it.

A task asks to wake every 100 ms and keeps how much later it did, over the last minute
(600 samples). ``/healthz`` reports the median, the 99th percentile and the worst, in
milliseconds: a long day's soak (bench/soak.py) reads them, and so can a monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from aiohttp import web

INTERVAL = 0.1
WINDOW = 600


class LoopLag:
    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=WINDOW)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(INTERVAL)
            self.samples.append(max(0.0, loop.time() - asked - INTERVAL))

    def summary(self) -> dict[str, float]:
        """Median, 99th percentile and worst lag of the last minute, in ms."""
        ordered = sorted(self.samples)
        if not ordered:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}

        def at(share: float) -> float:
            return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

        return {"p50": at(0.5), "p99": at(0.99), "max": round(1000 * ordered[-1], 2)}


async def watch_loop(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: the watcher while the server runs."""
    task = asyncio.create_task(app[LOOP_LAG].run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


LOOP_LAG: web.AppKey[LoopLag] = web.AppKey("loop_lag")
