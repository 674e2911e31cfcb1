"""Helpers for the media tests with real aiortc peers in one hub room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from media.hub import MediaHub
from tests.support.encoded import CapturingPeer

ROOM = "teaching:3"


async def eventually(check: Callable[[], bool], within: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def join(
    hub: MediaHub, user: int, peer: CapturingPeer, receive_from: Sequence[int], publish: bool = True
) -> CapturingPeer:
    await peer.accept(await hub.handle_offer(ROOM, user, await peer.offer(), receive_from, publish))
    return peer


def contiguous_in(received: list[bytes], sent: list[bytes]) -> bool:
    """``received`` is a run of consecutive frames of ``sent`` (nothing altered or reordered)."""
    if not received:
        return False
    return any(
        sent[start : start + len(received)] == received
        for start in range(len(sent) - len(received) + 1)
        if sent[start] == received[0]
    )


def has_frames(peer: CapturingPeer, index: int, count: int) -> bool:
    return len(frames(peer, index)) >= count


def publishing(hub: MediaHub, user: int) -> bool:
    room = hub.room(ROOM)
    publication = room.publications.get((user, "video")) if room else None
    return publication is not None and publication.frames > 0


def frames(peer: CapturingPeer, index: int = 0) -> list[bytes]:
    return [data for _, data in peer.captures[index].frames]
