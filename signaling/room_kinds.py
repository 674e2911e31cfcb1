"""What the signaling edge asks about a room, whatever kind it is.

A room key names its kind and id ("consult:12", "teaching:3"). For each kind the
composition root hands the edge a ``RoomKind``: who may join and publish, whether the
room can be joined now, and where its starts, ends, presence and recordings are kept.
The edge stays ignorant of consults, teaching sessions and SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recordings.files import RecordingFile


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


class RoomKind(Protocol):
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
    async def said(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any] | None:
        """Keep a chat line; what everyone in the room is sent (None: no chat here)."""
        ...


def room_key(kind: str, room_id: int) -> str:
    """The key of a kind's room: ``room_key("consult", 12)`` is "consult:12"."""
    return f"{kind}:{room_id}"


def parse_room_key(key: str) -> tuple[str, int]:
    """The kind and id a room key names (ValueError when it names none)."""
    kind, _, number = key.partition(":")
    if not number.isdigit():
        raise ValueError(f"bad room key {key!r}")
    return kind, int(number)
