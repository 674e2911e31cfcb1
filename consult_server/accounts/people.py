"""The signaling edge's view of accounts (``signaling.ports.People``)."""

from __future__ import annotations

import dataclasses
from http.cookies import CookieError, SimpleCookie

from consult_server.accounts.directory import Accounts
from consult_server.accounts.login_sessions import COOKIE_NAME, LoginSessions, login_id
from consult_server.accounts.models import User
from signaling.ports import Person


def _person(user: User | None) -> Person | None:
    return Person(user.id, user.display_name, user.role.value) if user else None


class SignalingPeople:
    def __init__(self, accounts: Accounts, logins: LoginSessions) -> None:
        self.accounts = accounts
        self.logins = logins

    async def signed_in(self, cookie_header: str) -> Person | None:
        try:
            cookie = SimpleCookie(cookie_header)
        except CookieError:
            return None
        token = cookie[COOKIE_NAME].value if COOKIE_NAME in cookie else ""
        login = await self.logins.get(token) if token else None
        person = _person(await self.accounts.user(login.user_id)) if login else None
        return dataclasses.replace(person, login=login_id(token)) if person else None

    async def person(self, user_id: int) -> Person | None:
        return _person(await self.accounts.user(user_id))
