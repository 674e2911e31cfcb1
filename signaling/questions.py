"""A teaching room's questions at the edge: a viewer asks (kept by the room's kind, its
``QuestionsKind`` port, then sent to everyone in the room), a presenter marks one
answered, and anyone in the room asks for the list (after a join or a reconnect). A
kind without the port takes no questions."""

from __future__ import annotations

import time

from signaling.edge import Ack, RoomEdge
from signaling.messages import AnswerMessage, BadMessage, ChatMessage, as_object, token_of
from signaling.room_kinds import QuestionsKind


class Questions:
    def __init__(self, edge: RoomEdge) -> None:
        self.edge = edge

    def _port(self, room: str) -> tuple[QuestionsKind, int]:
        ports, number = self.edge.kind(room)
        if ports.questions is None:
            raise BadMessage("questions_unavailable", "this room takes no questions")
        return ports.questions, number

    async def on_ask(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            message = ChatMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            port, number = self._port(claims.room)
            question = await port.asked(number, claims.user_id, message.text, time.time())
            await self.edge.tell(claims.room, "room:question", question)
            return {"ok": True, "question": question}

        return await self.edge.guard(sid, act)

    async def on_answer(self, sid: str, data: object = None) -> Ack:
        """A presenter marks a question answered (a viewer may not)."""

        async def act() -> Ack:
            message = AnswerMessage.parse(data)
            claims = await self.edge.joined(sid, message.token)
            room = self.edge.rooms.get(claims.room)
            if room is None or claims.user_id not in room.publishers:
                raise BadMessage("not_presenter", "only the presenters mark questions answered")
            port, number = self._port(claims.room)
            question = await port.answered(number, message.question_id, claims.user_id, time.time())
            if question is None:
                raise BadMessage("question_not_found", "no such question in this room")
            await self.edge.tell(claims.room, "room:question", question)
            return {"ok": True, "question": question}

        return await self.edge.guard(sid, act)

    async def on_list(self, sid: str, data: object = None) -> Ack:
        async def act() -> Ack:
            claims = await self.edge.joined(sid, token_of(as_object(data)))
            port, number = self._port(claims.room)
            return {"ok": True, "questions": await port.questions(number)}

        return await self.edge.guard(sid, act)
