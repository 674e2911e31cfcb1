"""The rooms this process holds, by key ("consult:12", "teaching:3").

Still sans-I/O: methods take the clock as an argument and return decisions.
"""

from __future__ import annotations

from collections.abc import Callable

from signaling import room as room_rules
from signaling.room import Decision, Room, RoomState


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, key: str) -> Room | None:
        return self._rooms.get(key)

    def open(self, key: str, make: Callable[[], Room]) -> Room:
        existing = self._rooms.get(key)
        if existing is None:
            existing = make()
            self._rooms[key] = existing
        return existing

    def keys(self) -> list[str]:
        """The rooms open here."""
        return list(self._rooms)

    def close(self, key: str) -> None:
        self._rooms.pop(key, None)

    def join(self, key: str, user_id: int, at: float) -> list[Decision]:
        return self._apply(key, lambda r: room_rules.join(r, user_id, at))

    def leave(self, key: str, user_id: int, at: float) -> list[Decision]:
        if key not in self._rooms:
            return []
        return self._apply(key, lambda r: room_rules.leave(r, user_id, at))

    def drop(self, key: str, user_id: int, at: float, reason: str) -> list[Decision]:
        if key not in self._rooms:
            return []
        return self._apply(key, lambda r: room_rules.drop(r, user_id, at, reason))

    def invite(self, key: str, user_id: int) -> list[Decision]:
        if key not in self._rooms:
            return []
        return self._apply(key, lambda r: room_rules.invite(r, user_id))

    def tick(self, now: float) -> list[tuple[str, list[Decision]]]:
        due = []
        for key in list(self._rooms):
            decisions = self._apply(key, lambda r: room_rules.tick(r, now))
            if decisions:
                due.append((key, decisions))
        return due

    def _apply(
        self, key: str, step: Callable[[Room], tuple[Room, list[Decision]]]
    ) -> list[Decision]:
        room = self._rooms.get(key)
        if room is None:
            raise room_rules.RoomRefused("room_closed", "this room is not open")
        new, decisions = step(room)
        if new.state is RoomState.ENDED:
            self._rooms.pop(key, None)
        else:
            self._rooms[key] = new
        return decisions
