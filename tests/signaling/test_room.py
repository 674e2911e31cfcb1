"""Room presence: quorum starts the session; leaving, grace and invitations."""

from __future__ import annotations

import pytest

from signaling import room
from signaling.room import (
    Invited,
    Joined,
    Left,
    Room,
    RoomRefused,
    RoomState,
    SessionEnd,
    SessionStart,
)

A, B, C, STRANGER = 1, 2, 3, 9


def consult_room() -> Room:
    people = frozenset({A, B})
    return Room("consult:9", publishers=people, allowed=people, grace_seconds=60, quorum=2)


def teaching_room() -> Room:
    return Room(
        "teaching:4", publishers=frozenset({A, B}), allowed=None, grace_seconds=60, quorum=1
    )


def test_session_starts_when_both_are_in() -> None:
    r, out = room.join(consult_room(), A, 10.0)
    assert out == [Joined(A, 10.0)] and r.state is RoomState.WAITING
    r, out = room.join(r, B, 12.0)
    assert out == [Joined(B, 12.0), SessionStart(12.0)] and r.state is RoomState.ACTIVE


def test_joining_twice_is_a_no_op() -> None:
    r, _ = room.join(consult_room(), A, 10.0)
    assert room.join(r, A, 11.0) == (r, [])


def test_stranger_is_refused_and_nothing_changes() -> None:
    r = consult_room()
    with pytest.raises(RoomRefused) as info:
        room.join(r, STRANGER, 1.0)
    assert info.value.code == "not_a_participant"
    assert r == consult_room()


def test_leaving_before_the_session_started_does_not_end_it() -> None:
    r, _ = room.join(consult_room(), A, 10.0)
    r, out = room.leave(r, A, 11.0)
    assert out == [Left(A, 11.0)] and r.state is RoomState.WAITING
    assert room.tick(r, 1_000_000.0) == (r, [])


def test_all_leaving_ends_at_once() -> None:
    r, _ = room.join(consult_room(), A, 10.0)
    r, _ = room.join(r, B, 11.0)
    r, _ = room.leave(r, A, 20.0)
    r, out = room.leave(r, B, 21.0)
    assert out == [Left(B, 21.0), SessionEnd(21.0, "all_left")] and r.state is RoomState.ENDED
    with pytest.raises(RoomRefused, match="ended"):
        room.join(r, A, 22.0)


def test_one_gone_past_the_grace_time_ends_and_coming_back_in_time_does_not() -> None:
    r, _ = room.join(consult_room(), A, 10.0)
    r, _ = room.join(r, B, 11.0)
    r, _ = room.leave(r, B, 20.0)
    assert room.tick(r, 79.0)[1] == []
    back, _ = room.join(r, B, 70.0)
    assert back.incomplete_since is None and room.tick(back, 500.0)[1] == []
    ended, out = room.tick(r, 80.0)
    assert out == [SessionEnd(80.0, "grace_expired")] and ended.state is RoomState.ENDED


def test_leave_of_someone_not_present_is_ignored() -> None:
    r = consult_room()
    assert room.leave(r, A, 1.0) == (r, [])


def test_an_invited_third_participant_may_join_and_two_keep_it_running() -> None:
    r, _ = room.join(consult_room(), A, 1.0)
    r, _ = room.join(r, B, 2.0)
    with pytest.raises(RoomRefused):
        room.join(r, C, 3.0)
    r, out = room.invite(r, C)
    assert out == [Invited(C)] and room.invite(r, C) == (r, [])
    r, out = room.join(r, C, 4.0)
    assert out == [Joined(C, 4.0)]
    r, _ = room.leave(r, A, 5.0)
    assert r.incomplete_since is None, "B and C are still consulting"
    r, _ = room.leave(r, B, 6.0)
    assert r.incomplete_since == 6.0
    assert room.tick(r, 66.0)[1] == [SessionEnd(66.0, "grace_expired")]


def test_teaching_room_viewers_anyone_presenter_quorum_one() -> None:
    r, out = room.join(teaching_room(), 50, 1.0)
    assert out == [Joined(50, 1.0)] and r.state is RoomState.WAITING, (
        "a viewer alone starts nothing"
    )
    r, out = room.join(r, A, 2.0)
    assert out == [Joined(A, 2.0), SessionStart(2.0)]
    r, _ = room.leave(r, A, 3.0)
    assert r.incomplete_since == 3.0, "no presenter left: the grace clock runs"
    r, _ = room.join(r, B, 10.0)
    assert r.incomplete_since is None
