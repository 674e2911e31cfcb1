"""Consult rooms, as the signaling edge sees them (a ``signaling.room_kinds.RoomKind``).

The consult's participants publish; the consult's life cycle says when its room can be
joined and how many keep it running. A session is recorded when the patient consented
and the clinician's facility records; its files are catalogued here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from consult_server.config import RecordingsConfig
from consult_server.consults.lifecycle import ROOM_QUORUM, joinable
from consult_server.consults.service import Consults
from consult_server.errors import ClientError
from recordings.catalog import FinishedFile, NewFile, RecordingCatalog
from recordings.files import (
    RecordingFile,
    recorder_id,
    recording_path,
    session_directory,
    sha256_of,
)
from signaling.room_kinds import RoomSpec, room_key

log = logging.getLogger(__name__)

#: The kind in a consult's room key ("consult:12").
KIND = "consult"


class ConsultRooms:
    """Consult rooms: the participants publish; two of them keep it running. A session
    is recorded when the patient consented and the clinician's facility records."""

    def __init__(
        self,
        consults: Consults,
        catalog: RecordingCatalog,
        recordings: RecordingsConfig | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.consults = consults
        self.store = consults.store
        self.catalog = catalog
        self.recordings = recordings or RecordingsConfig(enabled=False)
        self.data_dir = data_dir or Path("data")

    async def recording_target(self, room_id: int, at: float) -> Path | None:
        """Where this session's files go, or None when it is not to be recorded."""
        if not self.recordings.enabled:
            return None
        policy = await self.store.recording_policy(room_id)
        if (
            policy is None
            or not policy.consent
            or policy.facility_code in self.recordings.disabled_facilities
        ):
            return None
        return session_directory(self.data_dir, f"consult-{room_id}", at)

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None:
        """Catalog the session and each participant's file as 'recording' (a crash leaves
        them findable), in one transaction: never a session without its files."""
        people = await self.consults.participants(await self.consults.get(room_id))
        files = [
            NewFile(
                user_id,
                "clinician" if index == 0 else "specialist",
                recording_path(target, user_id),
            )
            for index, user_id in enumerate(people)
        ]
        await self.catalog.start_recording(room_id, started_at, recorder_id(), files)

    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        """Catalog a participant's file in a session being recorded, unless it already
        is: a specialist invited into a recorded room had a file but no entry (no hash,
        not reviewable, out of retention's reach)."""
        file = NewFile(user_id, role, recording_path(target, user_id))
        await self.catalog.add_file(room_id, started_at, recorder_id(), file)

    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None:
        """Complete each participant's entry with size, frames and SHA-256; an entry
        whose participant never sent a frame is removed."""
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
        await self.catalog.end_recording(room_id, started_at, now)

    async def spec(self, room_id: int) -> RoomSpec:
        consult = await self.consults.get(room_id)
        people = frozenset(await self.consults.participants(consult))
        return RoomSpec(
            room_key(KIND, room_id),
            people,
            people,
            ROOM_QUORUM,
            joinable(consult.state),
            consult.state.value,
        )

    async def started(self, room_id: int, at: float) -> None:
        await self.consults.session_started(room_id, at)

    async def ended(self, room_id: int, at: float, reason: str) -> None:
        # Already ended elsewhere (another node, a cancel): nothing more to record.
        with contextlib.suppress(ClientError):
            await self.consults.session_ended(room_id, at, reason)

    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None:
        await self.store.joined(room_id, user_id, role, at)

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.store.left(room_id, user_id, at)

    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None:
        """Something happened in the room (for the recording's review timeline)."""
        await self.store.event(room_id, user_id, kind, at)

    async def said(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any] | None:
        return (await self.consults.say(room_id, user_id, text, at)).describe()
