"""How long Python's garbage collector stops the world: every packet waits for it too.

Each collection is timed (``gc.callbacks``), and the last minute's are kept by
generation. ``/healthz`` reports, per generation, how many ran and the worst pause in
milliseconds, beside the event loop's lag (``loop_lag``), which a long pause shows up in.

At start-up, once the application is built, ``gc.freeze()`` moves everything made so
far (modules, routes, ORM mappers, templates) out of the collector's way: a full
collection no longer walks those hundreds of thousands of objects that live as long as
the process, and its pause shrinks with them.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

WINDOW_SECONDS = 60.0


class GcPauses:
    def __init__(self) -> None:
        #: (ended at, generation, seconds) of the collections of the last minute.
        self.samples: deque[tuple[float, int, float]] = deque()
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        if self._started is None:
            return
        self.samples.append((now, int(info["generation"]), now - self._started))
        self._started = None
        while self.samples and self.samples[0][0] < now - WINDOW_SECONDS:
            self.samples.popleft()

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per generation over the last minute: collections and the worst pause (ms)."""
        cutoff = time.perf_counter() - WINDOW_SECONDS
        out: dict[str, dict[str, float]] = {}
        for generation in (0, 1, 2):
            pauses = [s for t, g, s in self.samples if g == generation and t >= cutoff]
            out[f"gen{generation}"] = {
                "collections": len(pauses),
                "max_ms": round(1000 * max(pauses), 2) if pauses else 0.0,
            }
        return out


def freeze_startup_objects() -> None:
    """Everything alive now lives as long as the process: keep it out of collections."""
    gc.collect()
    gc.freeze()


async def watch_gc(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: collections timed while the server runs."""
    pauses = app[GC_PAUSES]
    pauses.install()
    yield
    pauses.uninstall()


async def freeze_on_startup(app: web.Application) -> None:
    """``serve``'s last start-up step (not the tests', whose many apps share a process)."""
    freeze_startup_objects()


GC_PAUSES: web.AppKey[GcPauses] = web.AppKey("gc_pauses")
