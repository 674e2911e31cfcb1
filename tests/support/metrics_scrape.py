"""``/metrics`` read the way the tests and benchmarks need it: a per-node series by node."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence

import aiohttp

Gauges = dict[str, dict[str, float]]


def per_node(text: str, name: str) -> dict[str, float]:
    """The values of series ``name`` (label ``node``), by node, in a scrape's text."""
    pattern = re.compile(rf'^{re.escape(name)}\{{node="([^"]+)"\}} (\S+)$', re.MULTILINE)
    return {node: float(value) for node, value in pattern.findall(text)}


async def scrape(base: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as reply:
        return await reply.text()


async def gauges_until(
    base: str, names: Sequence[str], ready: Callable[[Gauges], bool], within: float = 8
) -> Gauges:
    """Scrape every 0.5 s until ``ready`` holds of the named series (each node brings
    its gauges up to date every 2 s), or ``within`` seconds pass; the last scrape."""
    deadline = time.monotonic() + within
    while True:
        text = await scrape(base)
        found = {name: per_node(text, name) for name in names}
        if ready(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
