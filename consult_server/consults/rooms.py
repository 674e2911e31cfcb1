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

from consult_server.config import RecordingsConfig
from consult_server.consults.service import Consults
from consult_server.errors import ClientError
from consult_server.store.db import Transaction
from recordings.files import (
    RecordingFile,
    recorder_id,
    recording_path,
    session_directory,
    sha256_of,
)
from signaling.consult import ROOM_QUORUM, joinable
from signaling.room_kinds import RoomSpec

log = logging.getLogger(__name__)


class ConsultRooms:
    """Consult rooms: the participants publish; two of them keep it running. A session
    is recorded when the patient consented and the clinician's facility records."""

    def __init__(
        self,
        consults: Consults,
        recordings: RecordingsConfig | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.consults = consults
        self.recordings = recordings or RecordingsConfig(enabled=False)
        self.data_dir = data_dir or Path("data")

    async def recording_target(self, room_id: int, at: float) -> Path | None:
        """Where this session's files go, or None when it is not to be recorded."""
        if not self.recordings.enabled:
            return None
        row = await self.consults.db.fetch_one(
            "SELECT c.recording_consent, f.code FROM consults c"
            " JOIN facilities f ON f.id = c.facility_id WHERE c.id = ?",
            (room_id,),
        )
        if (
            row is None
            or not row["recording_consent"]
            or row["code"] in self.recordings.disabled_facilities
        ):
            return None
        return session_directory(self.data_dir, f"consult-{room_id}", at)

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None:
        """Catalog the session and each participant's file as 'recording' (a crash leaves
        them findable), in one transaction: never a session without its files."""
        people = await self.consults.participants(await self.consults.get(room_id))
        async with self.consults.db.atomic() as tx:
            await tx.execute(
                "INSERT INTO recording_sessions (consult_id, started_at) VALUES (?, ?)",
                (room_id, started_at),
            )
            for index, user_id in enumerate(people):
                role = "clinician" if index == 0 else "specialist"
                await self._catalog_file(tx, room_id, started_at, target, user_id, role)

    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        """Catalog a participant's file in a session being recorded, unless it already
        is: a specialist invited into a recorded room had a file but no entry (no hash,
        not reviewable, out of retention's reach)."""
        async with self.consults.db.atomic() as tx:
            await self._catalog_file(tx, room_id, started_at, target, user_id, role)

    @staticmethod
    async def _catalog_file(
        tx: Transaction, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        path = str(recording_path(target, user_id))
        await tx.execute(
            "INSERT INTO recordings"
            " (consult_id, session_id, user_id, role, path, started_at, status, recorder)"
            " SELECT ?, s.id, ?, ?, ?, ?, 'recording', ? FROM recording_sessions s"
            " WHERE s.consult_id = ? AND s.started_at = ?"
            " AND NOT EXISTS (SELECT 1 FROM recordings WHERE path = ?)",
            (room_id, user_id, role, path, started_at, recorder_id(), room_id, started_at, path),
        )

    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None:
        """Complete each participant's entry with size, frames and SHA-256; an entry
        whose participant never sent a frame is removed."""
        db = self.consults.db
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
            await db.execute(
                "UPDATE recordings SET ended_at = ?, size = ?, sha256 = ?, frames = ?,"
                " frames_dropped = ?, status = 'complete' WHERE path = ? AND status = 'recording'",
                (now, size, digest, file.frames, file.dropped, str(file.path)),
            )
        await db.execute(
            "DELETE FROM recordings WHERE consult_id = ? AND status = 'recording'", (room_id,)
        )
        await db.execute(
            "UPDATE recording_sessions SET ended_at = ? WHERE consult_id = ? AND started_at = ?",
            (now, room_id, started_at),
        )

    async def spec(self, room_id: int) -> RoomSpec:
        consult = await self.consults.get(room_id)
        people = frozenset(await self.consults.participants(consult))
        return RoomSpec(
            f"consult:{room_id}",
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
        await self.consults.record_join(room_id, user_id, role, at)

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.consults.record_leave(room_id, user_id, at)

    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None:
        await self.consults.record_event(room_id, user_id, kind, at)
