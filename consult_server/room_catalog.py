"""What the signaling edge needs to know about a room, from the store.

A room key names its kind and id ("consult:12"). For each kind a catalog says who may
join and publish, whether it can be joined now, and records starts, ends and presence.
The socket.io edge stays ignorant of consults and SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from consult_server.config import RecordingsConfig
from consult_server.consults.service import Consults
from consult_server.errors import ClientError
from recordings.writer import EXTENSION
from signaling.consult import ConsultState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordingFile:
    path: Path
    frames: int
    #: Frames the writer dropped because the disk did not keep up.
    dropped: int = 0


def recorder_id() -> str:
    """This process, as the catalog names the one writing a recording."""
    return f"{socket.gethostname()}:{os.getpid()}"


def recording_path(directory: Path, user_id: int) -> Path:
    """Where one participant's media of one session is written."""
    return directory / f"{user_id}{EXTENSION}"


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class RoomSpec:
    key: str
    publishers: frozenset[int]
    #: Who may join; None: any signed-in user, as a receive-only viewer.
    allowed: frozenset[int] | None
    quorum: int
    joinable: bool
    #: Why it cannot be joined (the consult's state), for the refusal message.
    state: str


class RoomCatalog(Protocol):
    async def spec(self, room_id: int) -> RoomSpec: ...
    async def recording_target(self, room_id: int, at: float) -> Path | None: ...
    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None: ...
    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None: ...
    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None: ...
    async def started(self, room_id: int, at: float) -> None: ...
    async def ended(self, room_id: int, at: float, reason: str) -> None: ...
    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None: ...
    async def left(self, room_id: int, user_id: int, at: float) -> None: ...
    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None: ...


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
        if row is None or not row[0] or row[1] in self.recordings.disabled_facilities:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(at))
        return self.data_dir / "recordings" / f"consult-{room_id}" / stamp

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None:
        """Catalog each participant's file as 'recording' (a crash leaves it findable)."""
        people = await self.consults.participants(await self.consults.get(room_id))
        await self.consults.db.execute(
            "INSERT INTO recording_sessions (consult_id, started_at) VALUES (?, ?)",
            (room_id, started_at),
        )
        for index, user_id in enumerate(people):
            role = "clinician" if index == 0 else "specialist"
            await self.recording_joined(room_id, started_at, target, user_id, role)

    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        """Catalog a participant's file in a session being recorded, unless it already
        is: a specialist invited into a recorded room had a file but no entry (no hash,
        not reviewable, out of retention's reach)."""
        path = str(recording_path(target, user_id))
        await self.consults.db.execute(
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
        joinable = consult.state in (ConsultState.ACCEPTED, ConsultState.IN_SESSION)
        return RoomSpec(f"consult:{room_id}", people, people, 2, joinable, consult.state.value)

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


def parse_room_key(key: str) -> tuple[str, int]:
    kind, _, number = key.partition(":")
    if not number.isdigit():
        raise ValueError(f"bad room key {key!r}")
    return kind, int(number)
