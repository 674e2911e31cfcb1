"""Room presence: the session starts when all expected are in, ends on leave / grace."""

from __future__ import annotations

import pytest

from signaling import room
from signaling.room import Joined, Left, Room, RoomRefused, RoomState, SessionEnd, SessionStart

A, B, STRANGER = 1, 2, 3


def new_room() -> Room:
    return Room(consult_id=9, expected=frozenset({A, B}), grace_seconds=60)


def test_session_starts_when_both_are_in() -> None:
    r, out = room.join(new_room(), A, 10.0)
    assert out == [Joined(A, 10.0)] and r.state is RoomState.WAITING
    r, out = room.join(r, B, 12.0)
    assert out == [Joined(B, 12.0), SessionStart(12.0)] and r.state is RoomState.ACTIVE


def test_joining_twice_is_a_no_op() -> None:
    r, _ = room.join(new_room(), A, 10.0)
    assert room.join(r, A, 11.0) == (r, [])


def test_stranger_is_refused_and_nothing_changes() -> None:
    r = new_room()
    with pytest.raises(RoomRefused) as info:
        room.join(r, STRANGER, 1.0)
    assert info.value.code == "not_a_participant"
    assert r == new_room()


def test_leaving_before_the_session_started_does_not_end_it() -> None:
    r, _ = room.join(new_room(), A, 10.0)
    r, out = room.leave(r, A, 11.0)
    assert out == [Left(A, 11.0)] and r.state is RoomState.WAITING
    assert room.tick(r, 1_000_000.0) == (r, [])


def test_all_leaving_ends_at_once() -> None:
    r, _ = room.join(new_room(), A, 10.0)
    r, _ = room.join(r, B, 11.0)
    r, _ = room.leave(r, A, 20.0)
    r, out = room.leave(r, B, 21.0)
    assert out == [Left(B, 21.0), SessionEnd(21.0, "all_left")] and r.state is RoomState.ENDED
    with pytest.raises(RoomRefused, match="ended"):
        room.join(r, A, 22.0)


def test_one_gone_past_the_grace_time_ends_and_coming_back_in_time_does_not() -> None:
    r, _ = room.join(new_room(), A, 10.0)
    r, _ = room.join(r, B, 11.0)
    r, _ = room.leave(r, B, 20.0)
    assert room.tick(r, 79.0)[1] == []
    back, _ = room.join(r, B, 70.0)
    assert back.incomplete_since is None and room.tick(back, 500.0)[1] == []
    ended, out = room.tick(r, 80.0)
    assert out == [SessionEnd(80.0, "grace_expired")] and ended.state is RoomState.ENDED


def test_leave_of_someone_not_present_is_ignored() -> None:
    r = new_room()
    assert room.leave(r, A, 1.0) == (r, [])
