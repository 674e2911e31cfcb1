"""Admins setting up the referral tree: the facilities under their own, created, edited,
moved, and imported from a CSV file (checked whole first; all or nothing; the same file
twice changes nothing). Every change is in the audit chain with who made it.

The rules are ``facility_rules.py``'s; this module loads what they need, asks them, has
the repository write, and appends the audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.facility_rules import (
    FacilityDraft,
    ImportPlan,
    check_draft,
    check_placement,
    managed,
    plan_import,
)
from consult_server.accounts.models import Facility, Role, User
from consult_server.audit.chain import Actor, AuditLog
from consult_server.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True)
class TreeNode:
    facility: Facility
    #: Active specialists on its staff, by specialty.
    staffed: frozenset[str]
    children: list[TreeNode]


class FacilityAdmin:
    def __init__(self, accounts: Accounts, audit: AuditLog) -> None:
        self.accounts = accounts
        self.audit = audit

    @staticmethod
    def manages_any(user: User) -> bool:
        """Admins manage the facilities under their own; nobody else manages any."""
        return user.role is Role.ADMIN

    async def _scope(self, admin: User) -> set[int]:
        if not self.manages_any(admin):
            raise Forbidden("only admins manage facilities", "not_admin")
        return managed(await self.accounts.referral_tree(), admin.facility_id)

    async def tree(self, admin: User) -> list[TreeNode]:
        """The facilities the admin manages, as a tree from their own facility."""
        scope = await self._scope(admin)
        facilities = {f.id: f for f in await self.accounts.facilities() if f.id in scope}
        staffed = await self.accounts.store.staffed()
        children: dict[int | None, list[Facility]] = {}
        for facility in facilities.values():
            parent = facility.parent_id if facility.parent_id in facilities else None
            children.setdefault(parent, []).append(facility)

        def node(facility: Facility) -> TreeNode:
            below = sorted(children.get(facility.id, []), key=lambda f: f.name)
            return TreeNode(
                facility, frozenset(staffed.get(facility.id, ())), [node(f) for f in below]
            )

        return [node(f) for f in sorted(children.get(None, []), key=lambda f: f.name)]

    async def _specialty_codes(self) -> set[str]:
        return {s.code for s in await self.accounts.specialties()}

    async def create(self, admin: User, actor: Actor, draft: FacilityDraft) -> Facility:
        scope = await self._scope(admin)
        facilities = {f.code: f for f in await self.accounts.facilities()}
        parent = facilities.get(draft.parent_code or "")
        check_draft(draft, parent, await self._specialty_codes())
        check_placement(
            await self.accounts.referral_tree(), scope, None, parent.id if parent else None
        )
        facility_id = await self.accounts.store.create_facility(
            draft, parent.id if parent else None
        )
        if facility_id is None:
            raise Conflict(f"a facility with code {draft.code} exists", "facility_exists")
        await self.audit.append(actor, "create", f"facility:{facility_id}", {"code": draft.code})
        created = await self.accounts.facility(facility_id)
        assert created is not None
        return created

    async def update(
        self, admin: User, actor: Actor, facility_id: int, draft: FacilityDraft
    ) -> Facility:
        scope = await self._scope(admin)
        facilities = await self.accounts.facilities()
        current = next((f for f in facilities if f.id == facility_id), None)
        if current is None or facility_id not in scope:
            raise NotFound("no such facility among those you manage", "facility_not_found")
        by_code = {f.code: f for f in facilities}
        parent = by_code.get(draft.parent_code or "")
        draft = FacilityDraft(
            current.code,
            draft.name,
            draft.level,
            draft.parent_code,
            draft.specialties,
            draft.records,
        )
        own = facility_id == admin.facility_id
        if own:
            parent = next((f for f in facilities if f.id == current.parent_id), None)
        check_draft(draft, parent, await self._specialty_codes())
        parent_id = parent.id if parent else None
        if own:
            # Their own facility: its place in the tree is not theirs to change.
            parent_id = current.parent_id
        else:
            check_placement(await self.accounts.referral_tree(), scope, facility_id, parent_id)
        await self.accounts.store.update_facility(facility_id, draft, parent_id)
        changed = {
            "name": draft.name != current.name,
            "level": draft.level is not current.level,
            "parent": parent_id != current.parent_id,
            "records": draft.records != current.records,
            "specialties": draft.specialties != current.specialties,
        }
        await self.audit.append(
            actor,
            "update",
            f"facility:{facility_id}",
            {"code": current.code, "changed": sorted(k for k, v in changed.items() if v)},
        )
        updated = await self.accounts.facility(facility_id)
        assert updated is not None
        return updated

    async def check_import(self, admin: User | None, text: str) -> ImportPlan:
        """What importing ``text`` would do (``admin`` None: the command line, any
        facility, roots allowed)."""
        scope = None if admin is None else await self._scope(admin)
        existing = {f.code: f for f in await self.accounts.facilities()}
        return plan_import(text, existing, await self._specialty_codes(), scope)

    async def commit_import(self, admin: User | None, actor: Actor, text: str) -> ImportPlan:
        """Check again, then write all of it or (a bad line) nothing."""
        plan = await self.check_import(admin, text)
        if plan.ok and plan.changes:
            await self.accounts.store.import_facilities(plan.drafts, plan.changes)
        if plan.ok:
            await self.audit.append(
                actor,
                "import",
                "facilities",
                {"created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged},
            )
        return plan


FACILITY_ADMIN: AppKey[FacilityAdmin] = AppKey("facility_admin")
