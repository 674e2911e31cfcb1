"""What everyone in a room is told about it (``room:state``), from the room's rules,
the edge's presence and who the people are: one pure function.

No I/O: the edge gathers the people and the clock, calls :func:`room_state`, and emits
its result from one place (``RoomEdge.emit_state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signaling.ports import Person
from signaling.room import Room
from signaling.shared_view import Presentation

#: A participant's media flags until their page sends its own.
MEDIA_ON: dict[str, Any] = {"audio": True, "video": True}


@dataclass
class RoomPresence:
    """Per-room edge state the rules do not need: sockets, media flags, what is shown."""

    sids: dict[int, str] = field(default_factory=dict)
    media: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: What is being shown to everyone, if anything.
    shown: Presentation | None = None
    #: The publishers sharing a screen now (each a second picture: ``screen_id``).
    screens: set[int] = field(default_factory=set)
    #: Viewers watching through other nodes' relays, by node (``signaling/relays.py``).
    relayed_viewers: dict[str, int] = field(default_factory=dict)


def screen_id(user_id: int) -> int:
    """The media id of a publisher's shared screen: a second publisher of its own on the
    media hub, never a person (people's ids are positive)."""
    return -user_id


def screen_owner(media_id: int) -> int | None:
    """Whose screen a media id is (None: a person's own id)."""
    return -media_id if media_id < 0 else None


def media_order(room: Room | None, presence: RoomPresence) -> list[int]:
    """The order in which every page receives the room's pictures: the publishers, then
    the screens being shared."""
    publishers = sorted(room.publishers) if room else []
    return publishers + [screen_id(u) for u in sorted(presence.screens) if u in publishers]


def people_in(room: Room | None, presence: RoomPresence) -> list[int]:
    """Everyone the state describes: the publishers and whoever is connected."""
    publishers = room.publishers if room else frozenset()
    return sorted(set(publishers) | set(presence.sids))


def _status(room: Room | None, user_id: int, seat_until: float | None) -> str:
    """ "present"; "dropped" (link lost, seat kept until ``seat_until``); "left" (was in,
    hung up or lost the seat); or "away" (not in yet)."""
    if room is not None and user_id in room.present:
        return "present"
    if seat_until is not None:
        return "dropped"
    if room is not None and user_id in room.left:
        return "left"
    return "away"


def room_state(
    key: str,
    room: Room | None,
    presence: RoomPresence,
    people: Mapping[int, Person | None],
    recording: bool,
    now: float,
) -> dict[str, Any]:
    """The room as its pages show it. ``people``: each of :func:`people_in` by id;
    ``recording``: a recorded frame is already in a file."""
    publishers = sorted(room.publishers) if room else []
    present = room.present if room else frozenset()
    participants: list[dict[str, Any]] = []
    for user_id in people_in(room, presence):
        user = people.get(user_id)
        seat_until = room.seat_until(user_id) if room else None
        participants.append(
            {
                "user_id": user_id,
                "name": user.name if user else "?",
                "role": user.role if user else "?",
                "publishes": user_id in publishers,
                "present": user_id in present,
                "status": _status(room, user_id, seat_until),
                "seat_until": seat_until,
                **presence.media.get(user_id, MEDIA_ON),
            }
        )
    order = media_order(room, presence)
    for user_id in publishers:
        if screen_id(user_id) in order:
            person = next(p for p in participants if p["user_id"] == user_id)
            # A screen is told as its presenter's: there while they are, no sound of its own.
            participants.append(
                {**person, "user_id": screen_id(user_id), "screen_of": user_id, **MEDIA_ON}
            )
    return {
        "room": key,
        "state": room.state.value if room else "ended",
        # The order in which every browser receives the publishers' media (the people,
        # then their shared screens).
        "publishers": order,
        "participants": participants,
        "viewers": sum(1 for u in presence.sids if u not in publishers)
        + sum(presence.relayed_viewers.values()),
        "recording": recording,
        # What is shown to everyone: a late joiner or a reconnect opens the same view.
        "shown": presence.shown.to_dict() if presence.shown else None,
        "server_now": now,
    }
