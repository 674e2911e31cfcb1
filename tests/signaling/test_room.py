"""Room presence: quorum starts the session; leaving, grace and invitations."""

from __future__ import annotations

import pytest

from signaling import room
from signaling.room import (
    Dropped,
    Invited,
    Joined,
    Left,
    Returned,
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


def running() -> Room:
    r, _ = room.join(consult_room(), A, 1.0)
    r, _ = room.join(r, B, 2.0)
    return r


def test_a_dropped_participant_keeps_the_seat_and_returns_within_the_grace() -> None:
    r, out = room.drop(running(), A, 10.0, "media_silent")
    assert out == [Dropped(A, 10.0, "media_silent")]
    assert r.state is RoomState.ACTIVE and A not in r.present and r.seat_until(A) == 70.0
    assert r.incomplete_since == 10.0, "below quorum: the others see it at once"
    assert room.tick(r, 69.0)[1] == []
    back, out = room.join(r, A, 50.0)
    assert out == [Returned(A, 50.0)], "the same seat, not a new participant"
    assert back.present == {A, B} and not back.dropped and back.incomplete_since is None
    assert room.tick(back, 1_000.0)[1] == []


def test_a_seat_not_taken_back_within_the_grace_ends_the_session() -> None:
    r, _ = room.drop(running(), A, 10.0, "socket_lost")
    ended, out = room.tick(r, 70.0)
    assert out == [SessionEnd(70.0, "grace_expired")] and ended.state is RoomState.ENDED


def test_two_dropping_at_once_keep_the_room_and_either_can_return() -> None:
    """Before drops existed, two drops before anyone rejoined ended the consult."""
    r, _ = room.drop(running(), A, 10.0, "socket_lost")
    r, out = room.drop(r, B, 10.0, "media_failed")
    assert out == [Dropped(B, 10.0, "media_failed")]
    assert r.state is RoomState.ACTIVE and not r.present and set(r.dropped) == {A, B}
    r, out = room.join(r, B, 40.0)
    assert out == [Returned(B, 40.0)]
    r, out = room.join(r, A, 41.0)
    assert out == [Returned(A, 41.0)] and r.incomplete_since is None
    assert r.state is RoomState.ACTIVE and r.present == {A, B}


def test_hanging_up_while_the_other_is_dropped_waits_for_the_dropped_seat() -> None:
    r, _ = room.drop(running(), A, 10.0, "socket_lost")
    r, out = room.leave(r, B, 12.0)
    assert out == [Left(B, 12.0)] and r.state is RoomState.ACTIVE, "A may still come back"
    r, out = room.join(r, A, 20.0)
    assert out == [Returned(A, 20.0)]
    r, out = room.leave(r, A, 30.0)
    assert out == [Left(A, 30.0), SessionEnd(30.0, "all_left")]


def test_a_dropped_third_participant_gives_up_the_seat_after_the_grace() -> None:
    r, _ = room.invite(running(), C)
    r, _ = room.join(r, C, 3.0)
    r, _ = room.drop(r, C, 10.0, "media_silent")
    assert r.incomplete_since is None, "A and B are still consulting"
    r, out = room.tick(r, 70.0)
    assert out == [Left(C, 70.0)] and r.state is RoomState.ACTIVE and not r.dropped


def test_drop_of_someone_not_present_and_after_the_end_changes_nothing() -> None:
    r = running()
    assert room.drop(r, C, 5.0, "socket_lost") == (r, [])
    r, _ = room.leave(r, A, 6.0)
    r, _ = room.leave(r, B, 7.0)
    assert room.drop(r, B, 8.0, "socket_lost") == (r, [])
