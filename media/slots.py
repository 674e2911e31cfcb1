"""A sender-side track whose source can be swapped while the call runs.

Each participant's peer sends one audio and one video ``ForwardSlot``; when the
other participant (re)publishes, the slot is pointed at their track. While no source
is attached the slot simply waits, so the sender idles instead of failing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame
from av.packet import Packet


class ForwardSlot(MediaStreamTrack):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self._changed = asyncio.Event()

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def attach(self, source: MediaStreamTrack | None) -> None:
        old = self._source
        self._source = source
        if old is not None and old is not source:
            old.stop()
        self._changed.set()

    async def recv(self) -> Frame | Packet[Any]:
        while self.readyState == "live":
            source = self._source
            if source is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                return await source.recv()
            except MediaStreamError:
                if self._source is source:
                    self._source = None
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self.attach(None)
