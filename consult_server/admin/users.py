"""Admins and the accounts of the facilities under their own: find them, create them,
change their role, facility and specialties, deactivate and reactivate them, unlock one
locked by failed sign-ins, and make a one-time link to set a password (a new account
has none until its person uses theirs). Every change is in the audit chain.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.accounts.account_import import AccountPlan, plan_accounts
from consult_server.accounts.directory import USERNAME_MAX, Accounts
from consult_server.accounts.facility_rules import managed
from consult_server.accounts.models import Role, User
from consult_server.accounts.password_links import LINK_SECONDS, PasswordLinks, new_token
from consult_server.accounts.repository import Account, AccountQuery, AccountRow
from consult_server.audit.chain import Actor, AuditLog
from consult_server.errors import BadRequest, Conflict, Forbidden, NotFound
from consult_server.sign_in.flow import SignIn

NAME_MAX = 120


@dataclass(frozen=True)
class AccountDraft:
    """An account as an admin's form gives it."""

    display_name: str
    role: Role
    facility_id: int
    specialties: frozenset[str]


@dataclass(frozen=True)
class Listed:
    row: AccountRow
    #: Seconds left of a lock from failed sign-ins (0: not locked).
    locked_for: float


class UserAdmin:
    def __init__(
        self, accounts: Accounts, links: PasswordLinks, sign_in: SignIn, audit: AuditLog
    ) -> None:
        self.accounts = accounts
        self.links = links
        self.sign_in = sign_in
        self.audit = audit

    async def scope(self, admin: User) -> frozenset[int]:
        if admin.role is not Role.ADMIN:
            raise Forbidden("only admins manage accounts", "not_admin")
        return frozenset(managed(await self.accounts.referral_tree(), admin.facility_id))

    async def find(self, admin: User, query: AccountQuery) -> list[Listed]:
        """Accounts matching ``query`` among those the admin manages (its own
        ``facilities`` are replaced by the admin's scope)."""
        scoped = dataclasses.replace(query, facilities=await self.scope(admin))
        rows = await self.accounts.store.listed(scoped)
        now = time.time()
        return [Listed(r, self.sign_in.locked_seconds(r.username, now)) for r in rows]

    async def one(self, admin: User, user_id: int) -> Listed:
        for listed in await self.find(admin, AccountQuery(frozenset(), user_id=user_id)):
            return listed
        raise NotFound("no such account among those you manage", "user_not_found")

    async def _check(self, admin: User, draft: AccountDraft) -> None:
        if draft.facility_id not in await self.scope(admin):
            raise Forbidden("choose a facility among those you manage", "facility_out_of_scope")
        if not draft.display_name.strip() or len(draft.display_name) > NAME_MAX:
            raise BadRequest(f"the name is 1-{NAME_MAX} characters", "bad_display_name")
        if draft.specialties and draft.role is not Role.SPECIALIST:
            raise BadRequest("only specialists have specialties", "bad_specialties")
        known = {s.code for s in await self.accounts.specialties()}
        if draft.specialties - known:
            raise BadRequest("a specialty is not in the list", "unknown_specialty")

    async def create(
        self, admin: User, actor: Actor, username: str, draft: AccountDraft
    ) -> tuple[int, str]:
        """A new account without a password, and its first one-time link (the token)."""
        await self._check(admin, draft)
        username = username.strip()
        if not username or len(username) > USERNAME_MAX or not username.isascii():
            raise BadRequest("username must be 1-64 ASCII characters", "bad_username")
        account = Account(
            username,
            draft.display_name.strip(),
            "",
            draft.role,
            draft.facility_id,
            draft.specialties,
        )
        user_id = await self.accounts.store.save_user(account, time.time(), replace=False)
        if user_id is None:
            raise Conflict(f"user {username} already exists", "user_exists")
        await self.audit.append(actor, "create", f"user:{user_id}", {"role": draft.role.value})
        token = await self.links.make(user_id, admin.id)
        await self.audit.append(actor, "password_link", f"user:{user_id}")
        return user_id, token

    async def update(self, admin: User, actor: Actor, user_id: int, draft: AccountDraft) -> None:
        current = (await self.one(admin, user_id)).row
        await self._check(admin, draft)
        if user_id == admin.id and draft.role is not Role.ADMIN:
            raise Conflict("you cannot take away your own admin role", "own_role")
        await self.accounts.store.update_account(
            user_id, draft.display_name.strip(), draft.role, draft.facility_id, draft.specialties
        )
        changed = {
            "name": draft.display_name.strip() != current.display_name,
            "role": draft.role is not current.role,
            "facility": draft.facility_id != current.facility_id,
            "specialties": draft.specialties != current.specialties,
        }
        await self.audit.append(
            actor,
            "update",
            f"user:{user_id}",
            {"changed": sorted(k for k, v in changed.items() if v)},
        )

    async def set_active(self, admin: User, actor: Actor, user_id: int, active: bool) -> None:
        await self.one(admin, user_id)
        if user_id == admin.id and not active:
            raise Conflict("you cannot deactivate your own account", "own_account")
        if await self.accounts.store.set_active(user_id, active):
            # A deactivated account's logins end at the server's next 15-second round.
            action = "reactivate" if active else "deactivate"
            await self.audit.append(actor, action, f"user:{user_id}")

    async def unlock(self, admin: User, actor: Actor, user_id: int) -> bool:
        listed = await self.one(admin, user_id)
        unlocked = self.sign_in.unlock(listed.row.username)
        if unlocked:
            await self.audit.append(actor, "unlock", f"user:{user_id}")
        return unlocked

    async def password_link(self, admin: User, actor: Actor, user_id: int) -> str:
        listed = await self.one(admin, user_id)
        if not listed.row.active:
            raise Conflict("reactivate the account first", "user_inactive")
        token = await self.links.make(user_id, admin.id)
        await self.audit.append(actor, "password_link", f"user:{user_id}")
        return token

    async def check_import(self, admin: User | None, text: str) -> AccountPlan:
        """What importing ``text`` would do (``admin`` None: the command line's, any
        facility)."""
        scope = None if admin is None else await self.scope(admin)
        facilities = {f.code: f.id for f in await self.accounts.facilities()}
        specialties = {s.code for s in await self.accounts.specialties()}
        existing = await self.accounts.store.existing_accounts()
        return plan_accounts(text, facilities, scope, specialties, existing)

    async def commit_import(
        self, admin: User | None, actor: Actor, text: str
    ) -> tuple[AccountPlan, dict[str, str]]:
        """Check again, then write all of it or (a bad line) nothing; the one-time link
        token of each new account, by username."""
        plan = await self.check_import(admin, text)
        tokens: dict[str, str] = {}
        if not plan.ok:
            return plan, tokens
        existing = await self.accounts.store.existing_accounts()
        hashes: dict[str, str] = {}
        for line in plan.lines:
            if line.username in plan.changes and line.username not in existing:
                tokens[line.username], hashes[line.username] = new_token()
        if plan.changes:
            now = time.time()
            await self.accounts.store.import_accounts(
                plan.lines,
                plan.changes,
                hashes,
                admin.id if admin else None,
                now,
                now + LINK_SECONDS,
            )
        await self.audit.append(
            actor,
            "import",
            "users",
            {"created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged},
        )
        return plan, tokens


USER_ADMIN: AppKey[UserAdmin] = AppKey("user_admin")
