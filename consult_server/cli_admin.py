"""The operator's verbs for the referral tree and the accounts, for scripts:

    consult-server facility add CODE NAME LEVEL [--parent CODE] [--specialty S]...
    consult-server facility import FILE.csv [--dry-run]
    consult-server user list [--facility CODE] [--role ROLE] [--inactive]
    consult-server user update USERNAME [--name N] [--role R] [--facility CODE]
                                        [--specialty S]... [--activate | --deactivate]
    consult-server user reset USERNAME [--base-url https://consult.example.vn]

They act over the whole tree (roots allowed), with the same rules as the admin's pages,
and are audited as the command line's (``system:command-line``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from consult_server.accounts.directory import Accounts
from consult_server.accounts.facility_admin import FacilityAdmin
from consult_server.accounts.facility_rules import FacilityDraft, check_draft
from consult_server.accounts.models import Level, Role
from consult_server.accounts.password_links import LINK_PATH, PasswordLinks
from consult_server.accounts.repository import AccountQuery, AccountRepository
from consult_server.audit.chain import Actor, AuditLog
from consult_server.config import Config
from consult_server.store import migrate
from consult_server.store.db import Database
from media.errors import ConsultServerError

ADMIN_COMMANDS = ("facility", "user")
ACTOR = Actor.system("command-line")


async def with_accounts(config: Config, work: Callable[[Accounts], Awaitable[None]]) -> None:
    migrate.upgrade(config.database_url)
    db = Database(config.database_url)
    await db.open()
    try:
        await work(Accounts(AccountRepository(db)))
    finally:
        await db.close()


def add_admin_parsers(sub: Any) -> None:
    facility = sub.add_parser("facility", help="the referral tree: add or import facilities")
    verbs = facility.add_subparsers(dest="facility_action", required=True)
    add = verbs.add_parser("add", help="add a facility")
    add.add_argument("code")
    add.add_argument("name")
    add.add_argument("level", choices=[level.value for level in Level])
    add.add_argument("--parent", help="the parent facility's code (none: a root)")
    add.add_argument("--specialty", action="append", default=[], help="offered (repeat)")
    add.add_argument("--no-recording", action="store_true", help="its consults are not recorded")
    imported = verbs.add_parser(
        "import", help="import a CSV (code,name,level,parent_code,specialties): all or nothing"
    )
    imported.add_argument("file", type=argparse.FileType("r", encoding="utf-8-sig"))
    imported.add_argument(
        "--dry-run", action="store_true", help="check the file and say what it would do"
    )
    user = sub.add_parser("user", help="accounts: list, update, a one-time password link")
    user_verbs = user.add_subparsers(dest="user_action", required=True)
    listing = user_verbs.add_parser("list", help="accounts, one per line (tab-separated)")
    listing.add_argument("--facility", help="facility code")
    listing.add_argument("--role", choices=[r.value for r in Role])
    listing.add_argument("--inactive", action="store_true", help="deactivated accounts only")
    update = user_verbs.add_parser("update", help="change an account")
    update.add_argument("username")
    update.add_argument("--name")
    update.add_argument("--role", choices=[r.value for r in Role])
    update.add_argument("--facility", help="facility code")
    update.add_argument(
        "--specialty", action="append", default=None, help="replaces them all (repeat)"
    )
    state = update.add_mutually_exclusive_group()
    state.add_argument("--activate", action="store_true")
    state.add_argument("--deactivate", action="store_true")
    reset = user_verbs.add_parser("reset", help="print a one-time link to set the password")
    reset.add_argument("username")
    reset.add_argument("--base-url", default="", help="the server's address as people reach it")


def run_admin(config: Config, args: argparse.Namespace) -> int:
    result: list[int] = []

    async def work(accounts: Accounts) -> None:
        audit = AuditLog(accounts.store.db)
        if args.command == "facility":
            result.append(await _facility(accounts, audit, args))
        else:
            result.append(await _user(accounts, audit, args))

    asyncio.run(with_accounts(config, work))
    return result[0]


async def _facility(accounts: Accounts, audit: AuditLog, args: argparse.Namespace) -> int:
    if args.facility_action == "import":
        admin = FacilityAdmin(accounts, audit)
        text = args.file.read()
        plan = (
            await admin.check_import(None, text)
            if args.dry_run
            else await admin.commit_import(None, ACTOR, text)
        )
        for error in plan.errors:
            print(f"line {error.line} {error.code}: {error.reason}", file=sys.stderr)
        if not plan.ok:
            print(f"nothing imported: {len(plan.errors)} bad lines", file=sys.stderr)
            return 1
        verb = "would import" if args.dry_run else "imported"
        print(f"{verb}: {plan.created} new, {plan.updated} changed, {plan.unchanged} the same")
        return 0
    facilities = {f.code: f for f in await accounts.facilities()}
    parent = facilities.get(args.parent) if args.parent else None
    if args.parent and parent is None:
        raise ConsultServerError(f"no facility with code {args.parent}", "parent_not_found")
    draft = FacilityDraft(
        args.code,
        args.name,
        Level(args.level),
        args.parent,
        frozenset(args.specialty),
        not args.no_recording,
    )
    check_draft(draft, parent, {s.code for s in await accounts.specialties()})
    facility_id = await accounts.store.create_facility(draft, parent.id if parent else None)
    if facility_id is None:
        raise ConsultServerError(f"a facility with code {args.code} exists", "facility_exists")
    await audit.append(ACTOR, "create", f"facility:{facility_id}", {"code": args.code})
    print(f"facility {args.code} added")
    return 0


async def _user(accounts: Accounts, audit: AuditLog, args: argparse.Namespace) -> int:
    facilities = {f.code: f for f in await accounts.facilities()}
    codes = {f.id: f.code for f in facilities.values()}
    if args.user_action == "list":
        scope = frozenset(codes)
        if args.facility:
            if args.facility not in facilities:
                raise ConsultServerError(
                    f"no facility with code {args.facility}", "facility_not_found"
                )
            scope = frozenset({facilities[args.facility].id})
        role = Role(args.role) if args.role else None
        query = AccountQuery(scope, role=role, active=False if args.inactive else None, limit=10**6)
        for listed in await accounts.store.listed(query):
            print(
                "\t".join(
                    (
                        listed.username,
                        listed.display_name,
                        listed.role.value,
                        codes.get(listed.facility_id, ""),
                        "active" if listed.active else "inactive",
                        ",".join(sorted(listed.specialties)),
                    )
                )
            )
        return 0
    found = await accounts.store.listed(AccountQuery(frozenset(codes), username=args.username))
    row = found[0] if found else None
    if row is None:
        raise ConsultServerError(f"no account {args.username}", "user_not_found")
    if args.user_action == "reset":
        if not row.active:
            raise ConsultServerError("reactivate the account first", "user_inactive")
        token = await PasswordLinks(accounts).make(row.id, None)
        await audit.append(ACTOR, "password_link", f"user:{row.id}")
        print(f"{args.base_url.rstrip('/')}{LINK_PATH}?token={token}")
        print("works once, for 24 hours; give it to the person directly", file=sys.stderr)
        return 0
    role = Role(args.role) if args.role else row.role
    if args.facility and args.facility not in facilities:
        raise ConsultServerError(f"no facility with code {args.facility}", "facility_not_found")
    facility_id = facilities[args.facility].id if args.facility else row.facility_id
    specialties = frozenset(args.specialty) if args.specialty is not None else row.specialties
    if role is not Role.SPECIALIST:
        specialties = frozenset()
    unknown = specialties - {s.code for s in await accounts.specialties()}
    if unknown:
        raise ConsultServerError(
            f"unknown specialty: {', '.join(sorted(unknown))}", "unknown_specialty"
        )
    name = args.name if args.name else row.display_name
    await accounts.store.update_account(row.id, name, role, facility_id, specialties)
    await audit.append(ACTOR, "update", f"user:{row.id}")
    wanted = bool(args.activate)
    if (args.activate or args.deactivate) and await accounts.store.set_active(row.id, wanted):
        action = "reactivate" if args.activate else "deactivate"
        await audit.append(ACTOR, action, f"user:{row.id}")
    print(f"{args.username} updated")
    return 0
