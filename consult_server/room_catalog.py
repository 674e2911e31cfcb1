"""What the signaling edge needs to know about a room, from the store.

A room key names its kind and id ("consult:12"). For each kind a catalog says who may
join and publish, whether it can be joined now, and records starts, ends and presence.
The socket.io edge stays ignorant of consults and SQL.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

from consult_server.consults import Consults
from consult_server.errors import ClientError
from signaling.consult import ConsultState


@dataclass(frozen=True)
class RoomSpec:
    key: str
    publishers: frozenset[int]
    #: Who may join; None: any signed-in user, as a receive-only viewer.
    allowed: frozenset[int] | None
    quorum: int
    joinable: bool
    #: Why it cannot be joined (the consult's state), for the refusal message.
    state: str


class RoomCatalog(Protocol):
    async def spec(self, room_id: int) -> RoomSpec: ...
    async def started(self, room_id: int, at: float) -> None: ...
    async def ended(self, room_id: int, at: float, reason: str) -> None: ...
    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None: ...
    async def left(self, room_id: int, user_id: int, at: float) -> None: ...


class ConsultRooms:
    """Consult rooms: the participants publish; two of them keep it running."""

    def __init__(self, consults: Consults) -> None:
        self.consults = consults

    async def spec(self, room_id: int) -> RoomSpec:
        consult = await self.consults.get(room_id)
        people = frozenset(await self.consults.participants(consult))
        joinable = consult.state in (ConsultState.ACCEPTED, ConsultState.IN_SESSION)
        return RoomSpec(f"consult:{room_id}", people, people, 2, joinable, consult.state.value)

    async def started(self, room_id: int, at: float) -> None:
        await self.consults.session_started(room_id, at)

    async def ended(self, room_id: int, at: float, reason: str) -> None:
        # Already ended elsewhere (another node, a cancel): nothing more to record.
        with contextlib.suppress(ClientError):
            await self.consults.session_ended(room_id, at, reason)

    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None:
        await self.consults.record_join(room_id, user_id, role, at)

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.consults.record_leave(room_id, user_id, at)


def parse_room_key(key: str) -> tuple[str, int]:
    kind, _, number = key.partition(":")
    if not number.isdigit():
        raise ValueError(f"bad room key {key!r}")
    return kind, int(number)
