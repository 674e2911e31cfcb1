"""Teaching rooms for the signaling edge."""

from __future__ import annotations

from typing import Any

from consult_server.teaching.service import Teaching
from signaling.room_kinds import RoomSpec, room_key

#: The kind in a teaching session's room key ("teaching:3").
KIND = "teaching"


class TeachingRooms:
    """Teaching rooms, as the signaling edge sees them (a ``signaling.room_kinds.RoomKind``):
    the presenters publish, anyone signed in may watch, one presenter keeps it running."""

    def __init__(self, teaching: Teaching) -> None:
        self.teaching = teaching
        self.store = teaching.store

    async def spec(self, room_id: int) -> RoomSpec:
        teaching_session = await self.teaching.get(room_id)
        return RoomSpec(
            room_key(KIND, room_id),
            teaching_session.presenters,
            None,
            1,
            teaching_session.state != "ended",
            teaching_session.state,
        )

    async def started(self, room_id: int, at: float) -> None:
        await self.store.went_live(room_id, at)

    async def ended(self, room_id: int, at: float, reason: str) -> None:
        await self.store.ended(room_id, at, reason)

    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None:
        await self.store.attended(room_id, user_id, role, at)

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.store.left(room_id, user_id, at)

    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None:
        """Teaching sessions are not recorded: no review timeline to keep."""

    # -- questions (a signaling.room_kinds.QuestionsKind) ----------------------------

    async def asked(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any]:
        return await self.store.ask(room_id, user_id, text, at)

    async def answered(
        self, room_id: int, question_id: int, user_id: int, at: float
    ) -> dict[str, Any] | None:
        return await self.store.answer(room_id, question_id, user_id, at)

    async def questions(self, room_id: int) -> list[dict[str, Any]]:
        return await self.store.questions(room_id)
