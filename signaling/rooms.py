"""The rooms this process holds: a map of consult id to ``room.Room``.

Still sans-I/O: methods take the clock as an argument and return decisions.
"""

from __future__ import annotations

from signaling import room as room_rules
from signaling.room import Decision, Room, RoomState


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[int, Room] = {}

    def get(self, consult_id: int) -> Room | None:
        return self._rooms.get(consult_id)

    def close(self, consult_id: int) -> None:
        self._rooms.pop(consult_id, None)

    def open(self, consult_id: int, expected: frozenset[int], grace_seconds: float) -> Room:
        existing = self._rooms.get(consult_id)
        if existing is None:
            existing = Room(consult_id, expected, grace_seconds)
            self._rooms[consult_id] = existing
        return existing

    def join(self, consult_id: int, user_id: int, at: float) -> list[Decision]:
        room = self._rooms.get(consult_id)
        if room is None:
            raise room_rules.RoomRefused("room_closed", "this room is not open")
        self._rooms[consult_id], decisions = room_rules.join(room, user_id, at)
        return decisions

    def leave(self, consult_id: int, user_id: int, at: float) -> list[Decision]:
        room = self._rooms.get(consult_id)
        if room is None:
            return []
        new, decisions = room_rules.leave(room, user_id, at)
        self._store(new)
        return decisions

    def tick(self, now: float) -> list[tuple[int, list[Decision]]]:
        due = []
        for consult_id, room in list(self._rooms.items()):
            new, decisions = room_rules.tick(room, now)
            self._store(new)
            if decisions:
                due.append((consult_id, decisions))
        return due

    def _store(self, room: Room) -> None:
        if room.state is RoomState.ENDED:
            self._rooms.pop(room.consult_id, None)
        else:
            self._rooms[room.consult_id] = room

    def __len__(self) -> int:
        return len(self._rooms)
