"""Teaching sessions: a specialist hosts (with an optional co-presenter), anyone
signed in watches without sending media. Attendance is recorded."""

from __future__ import annotations

import time

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.errors import BadRequest, Forbidden, NotFound
from consult_server.teaching.repository import Announced, TeachingRepository, TeachingSession

TITLE_MAX = 200
#: How many open sessions the list shows (newest first).
LISTED = 50


class Teaching:
    def __init__(self, store: TeachingRepository, accounts: Accounts) -> None:
        self.store = store
        self.accounts = accounts

    async def create(self, host: User, payload: object) -> TeachingSession:
        if host.role is not Role.SPECIALIST:
            raise Forbidden("only specialists host teaching sessions", "wrong_role")
        if not isinstance(payload, dict):
            raise BadRequest("expected a JSON object", "bad_payload")
        title = payload.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
            raise BadRequest("a title of up to 200 characters is required", "bad_title")
        co_presenter = payload.get("co_presenter")
        co_id = None
        if co_presenter:
            co_id = await self.accounts.active_specialist(str(co_presenter))
            if co_id is None or co_id == host.id:
                raise BadRequest("the co-presenter must be another specialist", "bad_co_presenter")
        new_id = await self.store.create(title.strip(), host.id, co_id, time.time())
        return await self.get(new_id)

    async def get(self, teaching_id: int) -> TeachingSession:
        teaching_session = await self.store.get(teaching_id)
        if teaching_session is None:
            raise NotFound("no such teaching session", "teaching_not_found")
        return teaching_session

    async def listing(self) -> list[Announced]:
        return await self.store.not_ended(LISTED)


TEACHING: AppKey[Teaching] = AppKey("teaching")
