"""What the signaling edge asks about a room, whatever kind it is.

A room key names its kind and id ("consult:12", "teaching:3"). For each kind the
composition root hands the edge its ``RoomPorts``: the ``RoomKind`` (who may join and
publish, whether the room can be joined now, where its starts, ends and presence are
kept), and only the optional ports it uses: recording (``RecordedKind``) and chat
(``ChatKind``). The edge stays ignorant of consults, teaching sessions and SQL.
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
    """What every kind of room answers and keeps: who may join, its start and end, who
    came and went, and what happened in it."""

    async def spec(self, room_id: int) -> RoomSpec: ...
    async def started(self, room_id: int, at: float) -> None: ...
    async def ended(self, room_id: int, at: float, reason: str) -> None: ...
    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None: ...
    async def left(self, room_id: int, user_id: int, at: float) -> None: ...
    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None: ...


class RecordedKind(Protocol):
    """An optional port: a kind whose rooms may be recorded (consults)."""

    async def recording_target(self, room_id: int, at: float) -> Path | None:
        """Where a session starting ``at`` is recorded, or None when it is not."""
        ...

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None: ...
    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None: ...
    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None: ...


class ChatKind(Protocol):
    """An optional port: a kind whose rooms have a chat, kept with the room."""

    async def said(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any]:
        """Keep a chat line; what everyone in the room is sent."""
        ...


class QuestionsKind(Protocol):
    """An optional port: a kind whose rooms take questions from their viewers, which
    the presenters mark answered, kept with the room."""

    async def asked(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any]:
        """Keep a question; what everyone in the room is sent."""
        ...

    async def answered(
        self, room_id: int, question_id: int, user_id: int, at: float
    ) -> dict[str, Any] | None:
        """Mark a question answered (None: no such question in this room)."""
        ...

    async def questions(self, room_id: int) -> list[dict[str, Any]]:
        """Every question of the room, oldest first."""
        ...


class FilesKind(Protocol):
    """An optional port: a kind whose rooms show files to everyone (a consult's)."""

    async def holds_files(self, room_id: int, file_ids: frozenset[int]) -> bool:
        """Whether every one of these files is the room's (its consult's)."""
        ...


@dataclass(frozen=True)
class RoomPorts:
    """A kind of room as the composition root hands it to the edge: what every room
    does, and the optional parts it has (None: its rooms have none)."""

    rooms: RoomKind
    recording: RecordedKind | None = None
    chat: ChatKind | None = None
    questions: QuestionsKind | None = None
    files: FilesKind | None = None
    #: Whether its presenters may share a screen as a second picture.
    screens: bool = False
    #: Whether its viewers may watch from any node, the room's media relayed there
    #: (``signaling/relays.py``): teaching sessions.
    relayed: bool = False


def room_key(kind: str, room_id: int) -> str:
    """The key of a kind's room: ``room_key("consult", 12)`` is "consult:12"."""
    return f"{kind}:{room_id}"


def parse_room_key(key: str) -> tuple[str, int]:
    """The kind and id a room key names (ValueError when it names none)."""
    kind, _, number = key.partition(":")
    if not number.isdigit():
        raise ValueError(f"bad room key {key!r}")
    return kind, int(number)
