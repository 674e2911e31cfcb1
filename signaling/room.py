"""The room life cycle: who may be in it, when the session starts and ends.

    waiting --(quorum of publishers present)--> active --(nobody left, or below quorum
                                                           for the grace time)--> ended

A consult room: its participants publish and the quorum is 2 (the session runs while
at least two of them are in). A teaching room: presenters publish, anyone signed in may
watch (``allowed`` is None), and the quorum is 1 presenter. Leaving before the session
started does not end it (the others may still be on the way). Each call returns the
new room and the decisions for the edge; the input room is never changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class RoomState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class RoomRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Room:
    key: str
    #: Who may send media.
    publishers: frozenset[int]
    grace_seconds: float
    #: Who may join at all; None: anyone (as a receive-only viewer unless a publisher).
    allowed: frozenset[int] | None = None
    #: Publishers that must be present for the session to run.
    quorum: int = 2
    state: RoomState = RoomState.WAITING
    present: frozenset[int] = frozenset()
    #: Since when the active room has been below its quorum.
    incomplete_since: float | None = None

    def publishing(self) -> int:
        return len(self.present & self.publishers)

    def may_join(self, user_id: int) -> bool:
        return self.allowed is None or user_id in self.allowed


@dataclass(frozen=True)
class Joined:
    user_id: int
    at: float


@dataclass(frozen=True)
class Left:
    user_id: int
    at: float


@dataclass(frozen=True)
class SessionStart:
    at: float


@dataclass(frozen=True)
class SessionEnd:
    at: float
    reason: str


@dataclass(frozen=True)
class Invited:
    user_id: int


Decision = Joined | Left | SessionStart | SessionEnd | Invited


def join(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    if room.state is RoomState.ENDED:
        raise RoomRefused("room_ended", "this room has ended")
    if not room.may_join(user_id):
        raise RoomRefused("not_a_participant", "you are not a participant of this consult")
    if user_id in room.present:
        return room, []
    new = dataclasses.replace(room, present=room.present | {user_id})
    decisions: list[Decision] = [Joined(user_id, at)]
    if new.publishing() >= new.quorum:
        if new.state is RoomState.WAITING:
            new = dataclasses.replace(new, state=RoomState.ACTIVE)
            decisions.append(SessionStart(at))
        new = dataclasses.replace(new, incomplete_since=None)
    return new, decisions


def leave(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    if user_id not in room.present or room.state is RoomState.ENDED:
        return room, []
    new = dataclasses.replace(room, present=room.present - {user_id})
    decisions: list[Decision] = [Left(user_id, at)]
    if new.state is RoomState.ACTIVE and not new.present:
        decisions.append(SessionEnd(at, "all_left"))
        return dataclasses.replace(new, state=RoomState.ENDED), decisions
    if (
        new.state is RoomState.ACTIVE
        and new.publishing() < new.quorum
        and new.incomplete_since is None
    ):
        new = dataclasses.replace(new, incomplete_since=at)
    return new, decisions


def invite(room: Room, user_id: int) -> tuple[Room, list[Decision]]:
    """Let one more publisher in (a consult's third participant)."""
    if room.state is RoomState.ENDED:
        raise RoomRefused("room_ended", "this room has ended")
    if user_id in room.publishers:
        return room, []
    allowed = None if room.allowed is None else room.allowed | {user_id}
    new = dataclasses.replace(room, publishers=room.publishers | {user_id}, allowed=allowed)
    return new, [Invited(user_id)]


def tick(room: Room, now: float) -> tuple[Room, list[Decision]]:
    """End an active room that has been below its quorum for longer than the grace time."""
    since = room.incomplete_since
    if room.state is RoomState.ACTIVE and since is not None and now - since >= room.grace_seconds:
        return dataclasses.replace(room, state=RoomState.ENDED), [SessionEnd(now, "grace_expired")]
    return room, []
