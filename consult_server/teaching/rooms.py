"""Teaching rooms for the signaling edge."""

from __future__ import annotations

from pathlib import Path

from consult_server.teaching.service import Teaching
from recordings.files import RecordingFile
from signaling.room_kinds import RoomSpec


class TeachingRooms:
    """Teaching rooms, as the signaling edge sees them (a ``signaling.room_kinds.RoomKind``):
    the presenters publish, anyone signed in may watch, one presenter keeps it running."""

    def __init__(self, teaching: Teaching) -> None:
        self.teaching = teaching
        self.db = teaching.db

    async def spec(self, room_id: int) -> RoomSpec:
        session = await self.teaching.get(room_id)
        return RoomSpec(
            f"teaching:{room_id}",
            session.presenters,
            None,
            1,
            session.state != "ended",
            session.state,
        )

    async def recording_target(self, room_id: int, at: float) -> Path | None:
        return None  # teaching sessions are not recorded (yet)

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None:
        return None

    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        return None

    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None:
        return None

    async def started(self, room_id: int, at: float) -> None:
        await self.db.execute(
            "UPDATE teaching_sessions SET state = 'live', started_at = COALESCE(started_at, ?)"
            " WHERE id = ? AND state != 'ended'",
            (at, room_id),
        )

    async def ended(self, room_id: int, at: float, reason: str) -> None:
        await self.db.execute(
            "UPDATE teaching_sessions SET state = 'ended', ended_at = ?, end_reason = ?"
            " WHERE id = ? AND state != 'ended'",
            (at, reason, room_id),
        )

    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO teaching_attendance (session_id, user_id, role, joined_at)"
            " VALUES (?, ?, ?, ?)",
            (room_id, user_id, role, at),
        )

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.db.execute(
            "UPDATE teaching_attendance SET left_at = ? WHERE session_id = ? AND user_id = ?"
            " AND left_at IS NULL",
            (at, room_id, user_id),
        )

    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None:
        """Teaching sessions are not recorded: no review timeline to keep."""
