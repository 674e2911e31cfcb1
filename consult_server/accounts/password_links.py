"""One-time links to set a password: what an admin gives a new doctor, or someone who
forgot theirs. No mail server is assumed: the admin is shown the link once and passes
it on (in person, by the facility's own messaging).

A link is a random token; only its SHA-256 is stored. It works once, for 24 hours, for
an active account; making a new one stops the person's older ones. Setting the password
ends every login the account had (a lost or shared PC is signed out too).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.errors import BadRequest, Gone

#: How long a link works.
LINK_SECONDS = 24 * 3600
#: The page a link opens (the token goes in the query: the access log never holds one).
LINK_PATH = "/password"
MIN_PASSWORD = 8
MAX_PASSWORD = 256


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A link's token and the hash that is stored."""
    token = secrets.token_urlsafe(32)
    return token, _digest(token)


def check_new_password(password: str, repeated: str) -> None:
    """A new password's own rules: long enough, typed the same twice."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"the password needs at least {MIN_PASSWORD} characters", "weak_password")
    if len(password) > MAX_PASSWORD:
        raise BadRequest("the password is too long", "password_too_long")
    if password != repeated:
        raise BadRequest("the two passwords differ", "passwords_differ")


class PasswordLinks:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def make(self, user_id: int, by: int | None) -> str:
        """A new link's token (shown once; only its hash is kept)."""
        token, token_hash = new_token()
        now = time.time()
        await self.accounts.store.add_password_link(
            token_hash, user_id, by, now, now + LINK_SECONDS
        )
        return token

    async def holder(self, token: str) -> int | None:
        """The account a usable link is for (None: used, expired or unknown)."""
        if not token or len(token) > 100:
            return None
        return await self.accounts.store.password_link(_digest(token), time.time())

    async def spend(self, token: str, password: str, repeated: str) -> tuple[int, list[str]]:
        """Set the password; (user id, the login ids that ended). The hash is made off
        the event loop; the link is spent in the same transaction as the password set."""
        check_new_password(password, repeated)
        if await self.holder(token) is None:
            raise Gone("this link has been used or has expired; ask for a new one", "link_used")
        password_hash = await self.accounts.passwords.hash(password)
        spent = await self.accounts.store.use_password_link(
            _digest(token), password_hash, time.time()
        )
        if spent is None:
            raise Gone("this link has been used or has expired; ask for a new one", "link_used")
        user_id, ended = spent
        return user_id, [h[:32] for h in ended]


PASSWORD_LINKS: AppKey[PasswordLinks] = AppKey("password_links")
