"""A country's facilities, then its doctors, imported from CSV files, on SQLite and on
PostgreSQL side by side.

    python -m bench.imports [--facilities 1500] [--doctors 5000] [--engines sqlite,postgresql]

The file is a generated referral tree under one central hospital: 63 provincial
hospitals, each with district centres, each with commune stations, to ``--facilities``
lines in all, some offering specialties. For each engine, on a fresh database holding the
demo's specialties: the check alone (the page's "Check"), the first import (all new), and
the same file again (nothing changes; matched by code). Then ``--doctors`` accounts
spread over those facilities (a third specialists), checked and imported, each new one
with its one-time password link; and the same file again. Times in seconds, wall clock.
PostgreSQL is a throwaway server started here (Debian's binaries), fsync off like the
tests: compare engines, not disks. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from sqlalchemy.engine import URL

from bench.engines import on_engines
from consult_server.accounts.demo import SPECIALTIES
from consult_server.accounts.directory import Accounts
from consult_server.accounts.facility_admin import FacilityAdmin
from consult_server.accounts.password_links import PasswordLinks
from consult_server.accounts.repository import AccountRepository
from consult_server.admin.users import UserAdmin
from consult_server.audit.chain import Actor, AuditLog
from consult_server.sign_in.flow import SignIn
from consult_server.sign_in.throttle import LoginThrottle
from consult_server.store import migrate
from consult_server.store.db import Database

PROVINCES = 63


def country_csv(total: int) -> str:
    """``total`` facilities: a central hospital, 63 provinces, districts and communes."""
    lines = ["code,name,level,parent_code,specialties", "bv-tw,Bệnh viện Trung ương,central,,"]
    left = total - 1 - PROVINCES
    districts = max(PROVINCES, left // 6)
    communes = left - districts
    for p in range(PROVINCES):
        lines.append(
            f"bv-tinh-{p},Bệnh viện tỉnh {p},provincial,bv-tw,internal-medicine;cardiology"
        )
    for d in range(districts):
        province = d % PROVINCES
        lines.append(f"ttyt-{d},TTYT huyện {d},district,bv-tinh-{province},internal-medicine")
    for c in range(communes):
        lines.append(f"tyt-{c},Trạm Y tế xã {c},commune,ttyt-{c % districts},")
    return "\n".join(lines) + "\n"


def doctors_csv(total: int, facilities: int) -> str:
    """``total`` accounts over the generated facilities: a third specialists."""
    lines = ["username,name,role,facility_code,specialties"]
    communes = max(
        1, facilities - 1 - PROVINCES - max(PROVINCES, (facilities - 1 - PROVINCES) // 6)
    )
    for i in range(total):
        if i % 3 == 0:
            lines.append(f"bs.{i},BS. Số {i},specialist,bv-tinh-{i % PROVINCES},cardiology")
        else:
            lines.append(f"ys.{i},YS. Số {i},clinician,tyt-{i % communes},")
    return "\n".join(lines) + "\n"


async def run_engine(url: URL, text: str, doctors: str) -> dict[str, Any]:
    migrate.upgrade(url)
    db = Database(url)
    await db.open()
    try:
        accounts = Accounts(AccountRepository(db))
        for code, name_vi, name_en in SPECIALTIES:
            await accounts.add_specialty(code, name_vi, name_en)
        admin = FacilityAdmin(accounts, AuditLog(db))
        actor = Actor.system("bench")
        started = time.perf_counter()
        checked = await admin.check_import(None, text)
        check_s = time.perf_counter() - started
        started = time.perf_counter()
        first = await admin.commit_import(None, actor, text)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = await admin.commit_import(None, actor, text)
        again_s = time.perf_counter() - started
        assert checked.ok and first.ok and again.ok
        assert (again.created, again.updated) == (0, 0)
        audit = AuditLog(db)
        users = UserAdmin(
            accounts, PasswordLinks(accounts), SignIn(accounts, audit, LoginThrottle()), audit
        )
        started = time.perf_counter()
        doctors_checked = await users.check_import(None, doctors)
        doctors_check_s = time.perf_counter() - started
        started = time.perf_counter()
        plan, tokens = await users.commit_import(None, actor, doctors)
        doctors_s = time.perf_counter() - started
        started = time.perf_counter()
        plan_again, tokens_again = await users.commit_import(None, actor, doctors)
        doctors_again_s = time.perf_counter() - started
        assert doctors_checked.ok and plan.ok and len(tokens) == plan.created
        assert tokens_again == {} and plan_again.unchanged == plan.created
        return {
            "facilities": len(await accounts.facilities()),
            "check_s": round(check_s, 3),
            "import_s": round(first_s, 3),
            "created": first.created,
            "same_file_again_s": round(again_s, 3),
            "unchanged": again.unchanged,
            "doctors": plan.created,
            "doctors_check_s": round(doctors_check_s, 3),
            "doctors_import_s": round(doctors_s, 3),
            "doctors_same_file_again_s": round(doctors_again_s, 3),
        }
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    text = country_csv(args.facilities)
    doctors = doctors_csv(args.doctors, args.facilities)
    results: dict[str, Any] = {"lines": text.count("\n") - 1, "bytes": len(text.encode())}

    async def run(url: URL) -> dict[str, Any]:
        return await run_engine(url, text, doctors)

    results.update(await on_engines(args.engines, run))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=1500)
    parser.add_argument("--doctors", type=int, default=5000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    args.engines = args.engines.split(",")
    print(json.dumps(asyncio.run(main(args)), indent=2))
