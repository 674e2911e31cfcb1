"""Request bodies must keep coming (issue 11: 100 POSTs sending their bodies a byte at a
time held 100 connections for as long as their senders liked).

A body may pause at most ``IDLE`` seconds, and after ``GRACE`` seconds must have come
at ``MIN_RATE`` bytes a second on average: a commune PC on an Edge-class link (a few
KB/s while in a call) passes; a client holding connections open cheaply does not.
Past either: 408 ``body_too_slow``, and nothing is kept (an upload's partial file is
removed as for any cut upload).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

from aiohttp import StreamReader, web

from consult_server.errors import ClientError

IDLE = 20.0
GRACE = 30.0
MIN_RATE = 1024
#: How often progress is looked at.
TICK = 0.5

T = TypeVar("T")


class BodyTooSlow(ClientError):
    status = 408
    code = "body_too_slow"


async def _watched(work: asyncio.Future[T], stream: StreamReader, started: float) -> T:
    seen, moved = stream.total_bytes, time.monotonic()
    while True:
        done, _ = await asyncio.wait({work}, timeout=TICK)
        if done:
            return work.result()
        now = time.monotonic()
        if stream.total_bytes != seen:
            seen, moved = stream.total_bytes, now
        elapsed = now - started
        if now - moved > IDLE or (elapsed > GRACE and seen < MIN_RATE * elapsed):
            work.cancel()
            raise BodyTooSlow("the request body came too slowly; try again")


async def read_body(request: web.Request) -> bytes:
    """The whole body (cached by aiohttp for ``request.post()``/``json()``), in time."""
    return await _watched(asyncio.ensure_future(request.read()), request.content, time.monotonic())


async def read_form(request: web.Request) -> None:
    """A multipart form parsed whole (cached by aiohttp for ``request.post()``), in time."""
    await _watched(asyncio.ensure_future(request.post()), request.content, time.monotonic())


async def steady_chunks(stream: StreamReader, size: int) -> AsyncIterator[bytes]:
    """``stream`` in ``size`` chunks (the last shorter), in time."""
    started = time.monotonic()
    chunks = stream.iter_chunked(size).__aiter__()
    while True:
        try:
            chunk = await _watched(asyncio.ensure_future(chunks.__anext__()), stream, started)
        except StopAsyncIteration:
            return
        yield chunk
