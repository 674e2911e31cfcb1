"""A recorded room's files catalogued as they are made.

When a session starts: the session with one 'recording' entry per participant's file, in
one transaction (a crash leaves them findable, never a session without its files). A
participant who joins later (an invited specialist) gets an entry then, once per path.
When it ends: each file's size, frames and SHA-256, hashed off the event loop; a file
its participant never sent a frame to is not there and keeps no entry.

Whether a room is recorded, and who plays which role, is its kind's business (the
consult room asks for consent and its facility's setting); this module only keeps the
catalog true to the files on disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from recordings.catalog import FinishedFile, NewFile, RecordingCatalog
from recordings.files import RecordingFile, recorder_id, recording_path, sha256_of

log = logging.getLogger(__name__)


class Cataloguing:
    def __init__(self, catalog: RecordingCatalog) -> None:
        self.catalog = catalog

    async def started(
        self, consult_id: int, started_at: float, target: Path, people: Sequence[tuple[int, str]]
    ) -> None:
        """The session and each participant's file, ``people`` as (user id, role)."""
        files = [
            NewFile(user_id, role, recording_path(target, user_id)) for user_id, role in people
        ]
        await self.catalog.start_recording(consult_id, started_at, recorder_id(), files)

    async def joined(
        self, consult_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        """A participant's file in a session being recorded, unless it already has an
        entry: without one it would have no hash, not be reviewable and be out of
        retention's reach."""
        file = NewFile(user_id, role, recording_path(target, user_id))
        await self.catalog.add_file(consult_id, started_at, recorder_id(), file)

    async def finished(
        self, consult_id: int, started_at: float, files: Mapping[int, RecordingFile]
    ) -> None:
        """Complete each file's entry with its size, frames and SHA-256; end the session."""
        now = time.time()
        for file in files.values():
            if not await asyncio.to_thread(file.path.exists):
                continue
            digest, size = await asyncio.to_thread(sha256_of, file.path)
            if file.dropped:
                log.warning(
                    "recording %s lost %d frames: the disk did not keep up",
                    file.path.name,
                    file.dropped,
                )
            await self.catalog.complete(
                FinishedFile(file.path, now, size, digest, file.frames, file.dropped)
            )
        await self.catalog.end_recording(consult_id, started_at, now)
