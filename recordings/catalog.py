"""The recording catalog: the only SQL that writes recorded sessions and their files
(``sessions.py`` reads them for review).

A session is catalogued when recording starts, with one entry per participant's file
in state 'recording' (a crash leaves them findable); an entry is completed with its
size, frames and SHA-256 when the file is closed, or recovered as 'interrupted' after a
crash, marked 'damaged' when its hash no longer matches, and 'deleted' by retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recordings.ports import AuditAppend, Statements, Store

#: What a file entry is catalogued with (its path decides the rest).
_ADD_FILE_SQL = (
    "INSERT INTO recordings"
    " (consult_id, session_id, user_id, role, path, started_at, status, recorder)"
    " SELECT ?, s.id, ?, ?, ?, ?, 'recording', ? FROM recording_sessions s"
    " WHERE s.consult_id = ? AND s.started_at = ?"
    " AND NOT EXISTS (SELECT 1 FROM recordings WHERE path = ?)"
)


@dataclass(frozen=True)
class NewFile:
    """A participant's file in a session being recorded."""

    user_id: int
    role: str
    path: Path


@dataclass(frozen=True)
class FinishedFile:
    path: Path
    ended_at: float
    size: int
    sha256: str
    frames: int
    dropped: int


@dataclass(frozen=True)
class Entry:
    """One participant's file as catalogued."""

    id: int
    #: None for an entry without a session (the column came with schema 0005).
    session_id: int | None
    consult_id: int
    user_id: int
    role: str
    path: Path
    status: str
    sha256: str | None
    size: int | None
    started_at: float
    recorder: str | None


def _entry(row: Any) -> Entry:
    return Entry(
        id=int(row["id"]),
        session_id=None if row["session_id"] is None else int(row["session_id"]),
        consult_id=int(row["consult_id"]),
        user_id=int(row["user_id"]),
        role=str(row["role"]),
        path=Path(row["path"]),
        status=str(row["status"]),
        sha256=row["sha256"],
        size=row["size"],
        started_at=float(row["started_at"]),
        recorder=row["recorder"],
    )


_ENTRY_COLUMNS = (
    "id, session_id, consult_id, user_id, role, path, status, sha256, size, started_at, recorder"
)


class RecordingCatalog:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- a session being recorded ------------------------------------------------------

    async def start_recording(
        self, consult_id: int, started_at: float, recorder: str, files: Sequence[NewFile]
    ) -> None:
        """The session and each participant's file, in one transaction: never a session
        without its files."""
        async with self.store.atomic() as tx:
            await tx.execute(
                "INSERT INTO recording_sessions (consult_id, started_at) VALUES (?, ?)",
                (consult_id, started_at),
            )
            for file in files:
                await self._add(tx, consult_id, started_at, recorder, file)

    async def add_file(
        self, consult_id: int, started_at: float, recorder: str, file: NewFile
    ) -> None:
        """One more participant's file in a session being recorded (once per path)."""
        async with self.store.atomic() as tx:
            await self._add(tx, consult_id, started_at, recorder, file)

    @staticmethod
    async def _add(
        tx: Statements, consult_id: int, started_at: float, recorder: str, file: NewFile
    ) -> None:
        path = str(file.path)
        row = (consult_id, file.user_id, file.role, path, started_at, recorder)
        await tx.execute(_ADD_FILE_SQL, (*row, consult_id, started_at, path))

    async def complete(self, file: FinishedFile) -> None:
        await self.store.execute(
            "UPDATE recordings SET ended_at = ?, size = ?, sha256 = ?, frames = ?,"
            " frames_dropped = ?, status = 'complete' WHERE path = ? AND status = 'recording'",
            (file.ended_at, file.size, file.sha256, file.frames, file.dropped, str(file.path)),
        )

    async def end_recording(self, consult_id: int, started_at: float, at: float) -> None:
        """The session ends: entries whose participant never sent a frame go."""
        async with self.store.atomic() as tx:
            await tx.execute(
                "DELETE FROM recordings WHERE consult_id = ? AND status = 'recording'",
                (consult_id,),
            )
            await tx.execute(
                "UPDATE recording_sessions SET ended_at = ? WHERE consult_id = ?"
                " AND started_at = ?",
                (at, consult_id, started_at),
            )

    # -- after a crash -------------------------------------------------------------------

    async def unfinished(self) -> list[Entry]:
        """Entries still 'recording' (whoever wrote them)."""
        rows = await self.store.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM recordings WHERE status = 'recording' ORDER BY id"
        )
        return [_entry(r) for r in rows]

    async def forget(self, recording_id: int) -> None:
        await self.store.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))

    async def interrupted(self, recording_id: int, size: int, sha256: str, at: float) -> None:
        await self.store.execute(
            "UPDATE recordings SET status = 'interrupted', size = ?, sha256 = ?, ended_at = ?"
            " WHERE id = ?",
            (size, sha256, at, recording_id),
        )

    async def close_abandoned_sessions(self) -> None:
        """Sessions left open whose files are all settled end with their last file."""
        await self.store.execute(
            "UPDATE recording_sessions SET ended_at = (SELECT MAX(r.ended_at) FROM recordings r"
            " WHERE r.session_id = recording_sessions.id) WHERE ended_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id ="
            " recording_sessions.id AND r.status = 'recording')"
        )

    # -- reading, checking, deleting ---------------------------------------------------

    async def entry(self, recording_id: int) -> Entry | None:
        rows = await self.store.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)
        )
        return _entry(rows[0]) if rows else None

    async def of_consult(self, consult_id: int) -> list[Entry]:
        """Every file recorded in a consult, oldest first."""
        rows = await self.store.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM recordings WHERE consult_id = ? ORDER BY id",
            (consult_id,),
        )
        return [_entry(r) for r in rows]

    async def damaged(self, recording_id: int) -> None:
        """Its hash no longer matches: no longer served."""
        await self.store.execute(
            "UPDATE recordings SET status = 'damaged' WHERE id = ? AND status IN"
            " ('complete', 'interrupted')",
            (recording_id,),
        )

    async def kept_since_before(self, before: float) -> list[Entry]:
        """Settled entries started before ``before`` (retention's due list)."""
        rows = await self.store.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM recordings WHERE started_at < ?"
            " AND status IN ('complete', 'interrupted', 'damaged') ORDER BY id",
            (before,),
        )
        return [_entry(r) for r in rows]

    async def deleted(
        self, entry: Entry, at: float, audit: AuditAppend, detail: dict[str, Any]
    ) -> bool:
        """Mark the entry deleted with its audit entry, in one transaction, unless it
        already is (a second process deleting it at once changes nothing)."""
        async with self.store.atomic() as tx:
            changed = await tx.execute(
                "UPDATE recordings SET status = 'deleted', deleted_at = ?"
                " WHERE id = ? AND status != 'deleted'",
                (at, entry.id),
            )
            if changed != 1:
                return False
            await audit(tx, "delete", f"recording:{entry.id}", detail)
        return True
