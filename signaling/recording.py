"""Which rooms are being recorded, and the recording's bookkeeping around the media
hub's writers.

A room is recorded when its kind has the recording port (``RecordedKind``) and names a
target when the session starts; its files are catalogued then, a participant who joins
later gets their entry, the room shows the recording indicator from the first frame in
a file, and the files are finished and catalogued when the session ends or the server
stops. Kinds without the port (teaching) are never recorded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from media.hub import MediaHub
from recordings.files import RecordingFile
from signaling.edge import log_failure
from signaling.room_kinds import RoomPorts

log = logging.getLogger(__name__)


@dataclass
class _Recorded:
    started_at: float
    target: Path
    #: A frame is already in a file: the room shows the recording indicator.
    live: bool = False


class RoomRecordings:
    def __init__(
        self,
        media: MediaHub,
        kind: Callable[[str], tuple[RoomPorts, int]],
        on_live: Callable[[str], Awaitable[None]],
    ) -> None:
        self.media = media
        self._kind = kind
        #: Told when a room's first recorded frame is in its file.
        self._on_live = on_live
        self._rooms: dict[str, _Recorded] = {}

    def live(self, key: str) -> bool:
        """Whether room ``key`` shows the recording indicator."""
        recorded = self._rooms.get(key)
        return recorded is not None and recorded.live

    async def start(self, key: str, at: float) -> None:
        """The session of room ``key`` started at ``at``: record it if its kind says so."""
        ports, number = self._kind(key)
        if ports.recording is None:
            return
        target = await ports.recording.recording_target(number, at)
        if target is None:
            return
        self.media.start_recording(key, target, functools.partial(self._first_frame, key))
        self._rooms[key] = _Recorded(at, target)
        await ports.recording.recording_started(number, at, target)

    async def joined(self, key: str, user_id: int, role: str) -> None:
        """A publisher joined room ``key`` (an invited specialist, say): if it is being
        recorded, their file gets its catalog entry now, like those there at the start."""
        recorded = self._rooms.get(key)
        ports, number = self._kind(key)
        if recorded is None or ports.recording is None:
            return
        await ports.recording.recording_joined(
            number, recorded.started_at, recorded.target, user_id, role
        )

    def _first_frame(self, key: str, user_id: int) -> None:
        """A participant's first frame is in its file (called on the loop by the hub)."""
        recorded = self._rooms.get(key)
        if recorded is None or recorded.live:
            return  # stopped while that frame was being written, or not the first
        recorded.live = True
        task = asyncio.create_task(self._went_live(key))
        task.add_done_callback(log_failure)

    async def _went_live(self, key: str) -> None:
        ports, number = self._kind(key)
        await ports.rooms.event(number, None, "recording_start", time.time())
        await self._on_live(key)

    async def stop(self, key: str) -> None:
        """Finish room ``key``'s files and catalogue them (if it is being recorded)."""
        recorded = self._rooms.pop(key, None)
        if recorded is None:
            return
        ports, number = self._kind(key)
        writers = await self.media.stop_recording(key)
        await ports.rooms.event(number, None, "recording_stop", time.time())
        files = {
            user: RecordingFile(w.path, w.stats.frames_written, w.stats.frames_dropped)
            for user, w in writers.items()
        }
        if ports.recording is not None:
            await ports.recording.recordings_finished(number, recorded.started_at, files)

    async def finish_all(self) -> None:
        """The server is stopping: close every recording cleanly (catalogued complete).
        Consults stay in session; whoever rejoins after the restart starts a new
        recorded session."""
        for key in list(self._rooms):
            try:
                await self.stop(key)
            except Exception:
                log.exception("could not finish the recording of %s", key)
