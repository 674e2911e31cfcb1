"""The figures on a national year, on SQLite and PostgreSQL side by side.

    python -m bench.stats [--consults 200000] [--bookings 20000] [--facilities 1500]
                          [--engines sqlite,postgresql]

A generated referral tree (``bench.imports``'s: one central hospital, 63 provinces, their
districts and communes) and ``--consults`` consults over twelve months at its commune
and district facilities (with notes, images and recorded sessions, tests/support/
figures.py), and ``--bookings`` bookings (a tenth missed, a tenth cancelled) and the
teaching sessions there are. Then each view a supervisor at the central hospital
opens, median of 3: a year by month, by facility, by level, by specialty, and one month
by facility. ``median_s`` is
``Stats.figures`` alone (every query of the page); ``page_median_s`` the whole page over
HTTP from the real app (sign-in through the form, then ``GET /stats``: queries, charts,
table and template). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.engine import URL

from bench.engines import on_engines
from bench.imports import country_csv
from consult_server.accounts.demo import SPECIALTIES
from consult_server.accounts.directory import Accounts
from consult_server.accounts.facility_admin import FacilityAdmin
from consult_server.accounts.models import Level, Role
from consult_server.accounts.repository import AccountRepository
from consult_server.app import create_app
from consult_server.audit.chain import Actor, AuditLog
from consult_server.bookings.repository import BookingRepository
from consult_server.local_time import day_start
from consult_server.stats.figures import Filters
from consult_server.stats.repository import StatsRepository
from consult_server.stats.service import Stats
from consult_server.store import migrate
from consult_server.store.db import Database
from consult_server.teaching.repository import TeachingRepository
from recordings.sessions import RecordedSessions
from tests.support import figures
from tests.support.inproc import login_client, make_config

PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway database's account)
VIEWS = {
    "year_by_month": ("2026-01", "2026-12", "month"),
    "year_by_facility": ("2026-01", "2026-12", "facility"),
    "year_by_level": ("2026-01", "2026-12", "level"),
    "year_by_specialty": ("2026-01", "2026-12", "specialty"),
    "one_month_by_facility": ("2026-10", "2026-10", "facility"),
}


async def seed_bookings(
    db: Database,
    facilities: list[int],
    clinician: int,
    specialist: int,
    count: int,
    start: float,
    span: float,
) -> None:
    """``count`` bookings over the year, a tenth missed, a tenth cancelled."""
    rng = random.Random(11)
    statuses = ["completed"] * 8 + ["missed", "cancelled"]
    rows = [
        {
            "at": start + (span * i) / count,
            "seat": i + 1,
            "facility": rng.choice(facilities),
            "status": rng.choice(statuses),
            "specialist": specialist,
            "clinician": clinician,
        }
        for i in range(count)
    ]
    async with db.atomic() as tx:
        await tx.conn.execute(
            text(
                "INSERT INTO bookings (specialist_id, specialty_code, starts_at, ends_at, seat,"
                " clinician_id, facility_id, summary, status, created_at) VALUES (:specialist,"
                " 'cardiology', :at, :at + 600, :seat, :clinician, :facility, 'x', :status, :at)"
            ),
            rows,
        )


async def run_engine(url: URL, args: argparse.Namespace) -> dict[str, Any]:
    migrate.upgrade(url)
    db = Database(url)
    await db.open()
    try:
        accounts = Accounts(AccountRepository(db))
        for code, name_vi, name_en in SPECIALTIES:
            await accounts.add_specialty(code, name_vi, name_en)
        plan = await FacilityAdmin(accounts, AuditLog(db)).commit_import(
            None, Actor.system("bench"), country_csv(args.facilities)
        )
        assert plan.ok
        facilities = await accounts.facilities()
        central = next(f for f in facilities if f.level is Level.CENTRAL)
        local = [f.id for f in facilities if f.level in (Level.COMMUNE, Level.DISTRICT)]
        people = []
        for name, role in (
            ("sup", Role.SUPERVISOR),
            ("ys", Role.CLINICIAN),
            ("bs", Role.SPECIALIST),
        ):
            people.append(
                await accounts.create_user(
                    name,
                    PASSWORD,
                    role,
                    central.id,
                    name,
                    frozenset({"cardiology"}) if role is Role.SPECIALIST else frozenset(),
                )
            )
        start = day_start(datetime.date(2026, 1, 1))
        span = day_start(datetime.date(2027, 1, 1)) - start
        codes = [code for code, _, _ in SPECIALTIES]
        started = time.perf_counter()
        batch = 20_000
        for first in range(0, args.consults, batch):
            made = figures.generate(
                min(batch, args.consults - first),
                local,
                codes,
                start,
                span,
                seed=first,
                first_id=first + 1,
            )
            await figures.insert(db, made, people[1], people[2])
        await seed_bookings(db, local, people[1], people[2], args.bookings, start, span)
        seed_s = time.perf_counter() - started
        supervisor = await accounts.user(people[0])
        assert supervisor is not None
        stats = Stats(
            StatsRepository(db),
            RecordedSessions(db),
            accounts,
            BookingRepository(db),
            TeachingRepository(db),
        )
        results: dict[str, Any] = {
            "consults": args.consults,
            "bookings": args.bookings,
            "seed_s": round(seed_s, 1),
        }
        for name, (first_month, last_month, by) in VIEWS.items():
            filters = Filters.parse(
                {"from": first_month, "to": last_month, "by": by}, datetime.date(2026, 12, 31)
            )
            times = []
            for _ in range(3):
                started = time.perf_counter()
                shown = await stats.figures(supervisor, filters, "vi")
                times.append(time.perf_counter() - started)
            results[name] = {
                "median_s": round(statistics.median(times), 3),
                "rows": len(shown.rows),
                "requested": shown.total.requested,
            }
        for name, page in (await page_times(url)).items():
            results[name].update(page)
        return results
    finally:
        await db.close()


async def page_times(url: URL) -> dict[str, dict[str, Any]]:
    """Each view as the supervisor's browser gets it: the real app over the same
    database, signed in through the form, ``GET /stats?…`` to the last byte of its HTML
    (charts and table), median of 3."""
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(
            Path(tmp), **{"database.url": url.render_as_string(hide_password=False)}
        )
        server = TestServer(create_app(config, ticker=False), host="127.0.0.1")
        await server.start_server()
        client = await login_client(f"http://127.0.0.1:{server.port}", "sup", PASSWORD)
        try:
            found: dict[str, dict[str, Any]] = {}
            for name, (first_month, last_month, by) in VIEWS.items():
                query = urlencode({"from": first_month, "to": last_month, "by": by})
                times, size = [], 0
                for _ in range(3):
                    started = time.perf_counter()
                    response = await client.get(f"/stats?{query}")
                    body = await response.read()
                    times.append(time.perf_counter() - started)
                    assert response.status == 200, response.status
                    size = len(body)
                found[name] = {
                    "page_median_s": round(statistics.median(times), 3),
                    "page_kib": round(size / 1024),
                }
            return found
        finally:
            await client.session.close()
            await server.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async def run(url: URL) -> dict[str, Any]:
        return await run_engine(url, args)

    return await on_engines(args.engines, run)


if __name__ == "__main__":
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consults", type=int, default=200_000)
    parser.add_argument("--bookings", type=int, default=20_000)
    parser.add_argument("--facilities", type=int, default=1500)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    args.engines = args.engines.split(",")
    print(json.dumps(asyncio.run(main(args)), indent=2))
