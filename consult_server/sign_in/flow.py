"""Signing in: the password checked off the event loop, failures counted and locked
(``throttle.py``), and every outcome in the audit chain: a sign-in, a failure (named by
the account only when it exists: a password typed into the username box is never
kept), a lock, a refusal while locked, a sign-out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import User
from consult_server.accounts.passwords import PasswordsBusy
from consult_server.audit.chain import Actor, AuditLog
from consult_server.sign_in.throttle import LoginThrottle, account_key, address_key


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in did not happen: a translation key and its parameters, an HTTP status."""

    key: str
    status: int
    minutes: int = 0


class SignIn:
    def __init__(self, accounts: Accounts, audit: AuditLog, throttle: LoginThrottle) -> None:
        self.accounts = accounts
        self.audit = audit
        self.throttle = throttle

    def locked_seconds(self, username: str, now: float) -> float:
        """How long this account is still locked by failed sign-ins (0: it is not)."""
        return self.throttle.locked_for([account_key(username)], now)

    def unlock(self, username: str) -> bool:
        """An admin lets a locked account sign in again now; whether it was locked.
        (Counts are this process's: with several processes each keeps its own.)"""
        return self.throttle.unlock(account_key(username))

    async def attempt(
        self, username: str, password: str, remote: str | None, now: float, purpose: str = "login"
    ) -> User | Refusal:
        """Check a password, throttled and audited; ``purpose``: what a success is
        written as ("login", or "screen_unlock" for a locked screen's owner)."""
        keys = [account_key(username), address_key(remote)]
        known = await self.accounts.store.credentials(username[:64])
        actor = Actor(known.user_id if known else None, username if known else "?", remote or "?")
        left = self.throttle.locked_for(keys, now)
        if left:
            await self.audit.append(actor, "refuse", "login", {"reason": "locked"})
            return Refusal("errors.login_locked", 429, math.ceil(left / 60))
        try:
            user = await self.accounts.authenticate(username, password)
        except PasswordsBusy:
            return Refusal("errors.login_busy", 503)
        if user is None:
            locked = self.throttle.failed(keys, now)
            await self.audit.append(actor, "login_failed", "login")
            for key in locked:
                kind = key.split(":", 1)[0]  # "account" or "address": never the guessed name
                await self.audit.append(actor, "lock", "login", {"what": kind})
            if locked:
                return Refusal("errors.login_locked", 429, math.ceil(self.throttle.lock / 60))
            return Refusal("errors.bad_credentials", 401)
        self.throttle.succeeded(keys[0])
        await self.audit.append(Actor.user(user, remote), purpose, "login")
        return user

    async def signed_out(self, user: User, remote: str | None) -> None:
        await self.audit.append(Actor.user(user, remote), "logout", "login")


SIGN_IN: AppKey[SignIn] = AppKey("sign_in")
