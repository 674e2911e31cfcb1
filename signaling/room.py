"""The room life cycle: who may be in it, when the session starts and ends.

    waiting --(quorum of publishers present)--> active --(nobody left, or below quorum
                                                           for the grace time)--> ended

A consult room: its participants publish and the quorum is 2 (the session runs while
at least two of them are in). A teaching room: presenters publish, anyone signed in may
watch (``allowed`` is None), and the quorum is 1 presenter. Leaving before the session
started does not end it (the others may still be on the way). Each call returns the
new room and the decisions for the edge; the input room is never changed.

Leaving is what a person does (hang up); *dropping* is what a link does (the socket or
the media went silent). A dropped participant keeps their seat for the grace time: the
room does not end while anyone is dropped, and joining again within the grace restores
the seat (``Returned``, not a new ``Joined``). A seat not taken back within the grace is
given up (``Left``); the quorum's own grace ends the session as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from media.errors import ConsultServerError


class RoomState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class RoomRefused(ConsultServerError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)


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
    #: Participants whose link dropped, with when: their seats are kept for the grace.
    #: Never changed in place (every step makes a new mapping).
    dropped: Mapping[int, float] = field(default_factory=dict)
    #: Who was in and has left (hung up, or their kept seat was given up) and is not back.
    left: frozenset[int] = frozenset()

    def publishing(self) -> int:
        return len(self.present & self.publishers)

    def seat_until(self, user_id: int) -> float | None:
        """Until when a dropped participant's seat is kept (None: not dropped)."""
        since = self.dropped.get(user_id)
        return None if since is None else since + self.grace_seconds

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
class Dropped:
    """The participant's link went silent or failed; their seat is kept."""

    user_id: int
    at: float
    reason: str


@dataclass(frozen=True)
class Returned:
    """A dropped participant is back within the grace: same seat."""

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


Decision = Joined | Left | Dropped | Returned | SessionStart | SessionEnd | Invited


def _without(dropped: Mapping[int, float], user_id: int) -> dict[int, float]:
    return {u: at for u, at in dropped.items() if u != user_id}


def _below_quorum(room: Room, at: float) -> Room:
    """Start the quorum's grace clock if the active room just fell below it."""
    if (
        room.state is RoomState.ACTIVE
        and room.publishing() < room.quorum
        and room.incomplete_since is None
    ):
        return dataclasses.replace(room, incomplete_since=at)
    return room


def join(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    if room.state is RoomState.ENDED:
        raise RoomRefused("room_ended", "this room has ended")
    if not room.may_join(user_id):
        raise RoomRefused("not_a_participant", "you are not a participant of this consult")
    if user_id in room.present:
        return room, []
    returned = user_id in room.dropped
    new = dataclasses.replace(
        room,
        present=room.present | {user_id},
        dropped=_without(room.dropped, user_id),
        left=room.left - {user_id},
    )
    decisions: list[Decision] = [Returned(user_id, at) if returned else Joined(user_id, at)]
    if new.publishing() >= new.quorum:
        if new.state is RoomState.WAITING:
            new = dataclasses.replace(new, state=RoomState.ACTIVE)
            decisions.append(SessionStart(at))
        new = dataclasses.replace(new, incomplete_since=None)
    return new, decisions


def leave(room: Room, user_id: int, at: float) -> tuple[Room, list[Decision]]:
    """The participant hung up (or a dropped seat was given up)."""
    if room.state is RoomState.ENDED or (
        user_id not in room.present and user_id not in room.dropped
    ):
        return room, []
    new = dataclasses.replace(
        room,
        present=room.present - {user_id},
        dropped=_without(room.dropped, user_id),
        left=room.left | {user_id},
    )
    decisions: list[Decision] = [Left(user_id, at)]
    if new.state is RoomState.ACTIVE and not new.present and not new.dropped:
        decisions.append(SessionEnd(at, "all_left"))
        return dataclasses.replace(new, state=RoomState.ENDED), decisions
    return _below_quorum(new, at), decisions


def drop(room: Room, user_id: int, at: float, reason: str) -> tuple[Room, list[Decision]]:
    """The participant's link went silent or failed: keep the seat for the grace time."""
    if room.state is RoomState.ENDED or user_id not in room.present:
        return room, []
    new = dataclasses.replace(
        room, present=room.present - {user_id}, dropped={**room.dropped, user_id: at}
    )
    return _below_quorum(new, at), [Dropped(user_id, at, reason)]


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
    """End an active room that has been below its quorum for longer than the grace time;
    give up the seats of those dropped for longer than it."""
    since = room.incomplete_since
    if room.state is RoomState.ACTIVE and since is not None and now - since >= room.grace_seconds:
        return dataclasses.replace(room, state=RoomState.ENDED), [SessionEnd(now, "grace_expired")]
    decisions: list[Decision] = []
    for user_id, dropped_at in sorted(room.dropped.items()):
        if now - dropped_at >= room.grace_seconds:
            room, out = leave(room, user_id, now)
            decisions += out
    return room, decisions
