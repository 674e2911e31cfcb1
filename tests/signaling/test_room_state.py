"""What a room's pages are told, from the rules' room and the edge's presence alone."""

from __future__ import annotations

import dataclasses
from typing import Any

from signaling.ports import Person
from signaling.room import Room, RoomState, join, leave
from signaling.room_state import RoomPresence, people_in, room_state
from signaling.shared_view import Presentation, View

CLINICIAN = Person(1, "BS. An", "clinician")
SPECIALIST = Person(2, "BS. Châu", "specialist")
VIEWER = Person(9, "BS. Xem", "clinician")
PEOPLE = {1: CLINICIAN, 2: SPECIALIST, 9: VIEWER}


def room(**changes: Any) -> Room:
    base = Room("consult:7", publishers=frozenset({1, 2}), grace_seconds=120.0, quorum=2)
    return dataclasses.replace(base, **changes)


def test_present_dropped_and_away_are_said_with_the_seat_kept() -> None:
    live = room(state=RoomState.ACTIVE, present=frozenset({1}), dropped={2: 1000.0})
    presence = RoomPresence(sids={1: "s1"}, media={1: {"audio": False, "video": True}})
    state = room_state("consult:7", live, presence, PEOPLE, recording=True, now=1010.0)
    assert state["state"] == "active"
    assert state["publishers"] == [1, 2]
    assert state["recording"] is True and state["server_now"] == 1010.0
    by_id = {p["user_id"]: p for p in state["participants"]}
    assert by_id[1] == {
        "user_id": 1,
        "name": "BS. An",
        "role": "clinician",
        "publishes": True,
        "present": True,
        "status": "present",
        "seat_until": None,
        "audio": False,
        "video": True,
    }
    assert by_id[2]["status"] == "dropped" and by_id[2]["seat_until"] == 1120.0
    assert by_id[2]["audio"] is True, "media flags default to on until the page says"


def test_viewers_are_counted_not_listed_as_publishers() -> None:
    live = room(state=RoomState.ACTIVE, present=frozenset({1, 2}))
    presence = RoomPresence(sids={1: "a", 2: "b", 9: "c"})
    state = room_state("consult:7", live, presence, PEOPLE, recording=False, now=0.0)
    assert state["viewers"] == 1
    assert [p["user_id"] for p in state["participants"]] == [1, 2, 9]
    assert people_in(live, presence) == [1, 2, 9]
    assert state["participants"][2]["publishes"] is False


def test_a_closed_room_is_ended_and_what_is_shown_is_kept() -> None:
    view = View(3, 0, 1.0, (0.0, 0.0), 0, None, 1.0, 1.0)
    presence = RoomPresence(shown=Presentation(2, "BS. Châu", (3,), view, 4))
    state = room_state("consult:7", None, presence, {}, recording=False, now=5.0)
    assert state["state"] == "ended"
    assert state["participants"] == [] and state["publishers"] == []
    assert state["shown"] is not None and state["shown"]["seq"] == 4


def test_someone_unknown_is_named_with_a_question_mark() -> None:
    presence = RoomPresence(sids={5: "x"})
    state = room_state("consult:7", room(), presence, {5: None}, recording=False, now=0.0)
    unknown = next(p for p in state["participants"] if p["user_id"] == 5)
    assert unknown["name"] == "?" and unknown["status"] == "away"


def test_who_left_is_told_apart_from_who_is_not_in_yet() -> None:
    """A participant who hung up reads "left", and is present again on coming back;
    one never in reads "away" (the page said "not in yet" of both)."""
    live, _ = join(room(), 1, 10.0)
    live, _ = join(live, 2, 11.0)
    live, decisions = leave(live, 2, 20.0)
    assert [type(d).__name__ for d in decisions] == ["Left"]
    by_id = {
        p["user_id"]: p
        for p in room_state("c", live, RoomPresence(), PEOPLE, False, 21.0)["participants"]
    }
    assert (by_id[1]["status"], by_id[2]["status"]) == ("present", "left")
    back, _ = join(live, 2, 30.0)
    again = room_state("c", back, RoomPresence(), PEOPLE, False, 31.0)["participants"]
    assert [p["status"] for p in again] == ["present", "present"]
    waiting = room_state("c", room(), RoomPresence(), PEOPLE, False, 0.0)["participants"]
    assert {p["status"] for p in waiting} == {"away"}
