"""Users, facilities and specialties in the SQL store."""

from __future__ import annotations

import time

from aiohttp.web import AppKey

from consult_server.accounts.models import Facility, Level, Role, Specialty, User
from consult_server.accounts.passwords import PasswordPool
from consult_server.accounts.referral_tree import ReferralTree
from consult_server.accounts.repository import Account, AccountRepository
from consult_server.errors import BadRequest, Conflict

USERNAME_MAX = 64


class Accounts:
    """The account directory: who works where, in which specialty, and signing in."""

    def __init__(self, store: AccountRepository, passwords: PasswordPool | None = None) -> None:
        self.store = store
        #: Hashing off the event loop, in a bounded pool.
        self.passwords = passwords or PasswordPool()

    # -- facilities and specialties ---------------------------------------------------

    async def add_facility(self, code: str, name: str, level: Level, parent_id: int | None) -> int:
        return await self.store.save_facility(code, name, level, parent_id)

    async def facilities(self) -> list[Facility]:
        return await self.store.facilities()

    async def facility(self, facility_id: int) -> Facility | None:
        return next((f for f in await self.facilities() if f.id == facility_id), None)

    async def add_specialty(self, code: str, name_vi: str, name_en: str) -> None:
        await self.store.save_specialty(code, name_vi, name_en)

    async def specialties(self) -> list[Specialty]:
        return await self.store.specialties()

    async def referral_tree(self) -> ReferralTree:
        facilities = await self.facilities()
        return ReferralTree({f.id: f.parent_id for f in facilities}, await self.store.staffed())

    # -- users -----------------------------------------------------------------------

    async def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        facility_id: int,
        display_name: str = "",
        specialties: frozenset[str] = frozenset(),
        replace: bool = False,
        password_hash: str | None = None,
    ) -> int:
        """Create (or with ``replace`` update) a user; returns the user id.
        ``password_hash``: one already made for ``password`` (accounts that share a
        password, as the demo's do, need not each spend a hash)."""
        if not username or len(username) > USERNAME_MAX or not username.isascii():
            raise BadRequest("username must be 1-64 ASCII characters", "bad_username")
        if len(password) < 8:
            raise BadRequest("password must have at least 8 characters", "weak_password")
        if specialties and role is not Role.SPECIALIST:
            raise BadRequest("only specialists have specialties", "bad_specialties")
        account = Account(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash or await self.passwords.hash(password),
            role=role,
            facility_id=facility_id,
            specialties=specialties,
        )
        saved = await self.store.save_user(account, time.time(), replace)
        if saved is None:
            raise Conflict(f"user {username} already exists", "user_exists")
        return saved

    async def users(self, user_ids: set[int] | list[int]) -> dict[int, User]:
        """Active users by id, in two queries whatever their number."""
        return await self.store.users(user_ids)

    async def user(self, user_id: int) -> User | None:
        return (await self.users([user_id])).get(user_id)

    async def authenticate(self, username: str, password: str) -> User | None:
        found = await self.store.credentials(username[:USERNAME_MAX])
        # An unknown name costs a hash too: the answer's time names no account.
        if not await self.passwords.verify(
            None if found is None else found.password_hash, password
        ):
            return None
        return None if found is None else await self.user(found.user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        await self.store.set_language(user_id, language)

    async def specialists_at(self, facility_ids: list[int], specialty: str) -> list[int]:
        return await self.store.specialists_at(facility_ids, specialty)

    async def active_specialist(self, username: str) -> int | None:
        """The id of the active specialist with this username, if there is one."""
        return await self.store.active_specialist(username[:USERNAME_MAX])


ACCOUNTS: AppKey[Accounts] = AppKey("accounts")
