"""The room life cycle: who is present, when the session starts and ends.

    waiting --(all expected present)--> active --(all gone, or one gone for the grace
                                                   time)--> ended

Only the expected participants may join. Leaving before the session started does
not end the room (the other side may still be on the way). Each call returns the new
room and the decisions the edge must carry out; the input room is never changed.
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
    consult_id: int
    expected: frozenset[int]
    grace_seconds: float
    state: RoomState = RoomState.WAITING
    present: frozenset[int] = frozenset()
    #: Since when someone who had joined is missing while the room is active.
    incomplete_since: float | None = None


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


Decision = Joined | Left | SessionStart | SessionEnd


def join(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    if room.state is RoomState.ENDED:
        raise RoomRefused("room_ended", "this consult's room has ended")
    if user_id not in room.expected:
        raise RoomRefused("not_a_participant", "you are not a participant of this consult")
    if user_id in room.present:
        return room, []
    present = room.present | {user_id}
    decisions: list[Decision] = [Joined(user_id, at)]
    state = room.state
    if state is RoomState.WAITING and present == room.expected:
        state = RoomState.ACTIVE
        decisions.append(SessionStart(at))
    complete = present == room.expected
    new = dataclasses.replace(
        room,
        present=present,
        state=state,
        incomplete_since=None if complete else room.incomplete_since,
    )
    return new, decisions


def leave(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    if user_id not in room.present or room.state is RoomState.ENDED:
        return room, []
    present = room.present - {user_id}
    decisions: list[Decision] = [Left(user_id, at)]
    if room.state is RoomState.ACTIVE and not present:
        decisions.append(SessionEnd(at, "all_left"))
        return dataclasses.replace(room, present=present, state=RoomState.ENDED), decisions
    since = room.incomplete_since
    if room.state is RoomState.ACTIVE and since is None:
        since = at
    return dataclasses.replace(room, present=present, incomplete_since=since), decisions


def tick(room: Room, now: float) -> tuple[Room, list[Decision]]:
    """End an active room that has been incomplete for longer than the grace time."""
    since = room.incomplete_since
    if room.state is RoomState.ACTIVE and since is not None and now - since >= room.grace_seconds:
        return dataclasses.replace(room, state=RoomState.ENDED), [SessionEnd(now, "grace_expired")]
    return room, []
