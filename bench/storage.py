"""The store under the consult life cycle, on SQLite and on PostgreSQL side by side.

    python -m bench.storage [--cycles 200] [--workers 1,8] [--queue 200]
                            [--engines sqlite,postgresql]

For each engine, on a fresh database with the demo tree plus ``--specialists`` more
specialists at the district (the audience of every live update):

- cycles: create -> accept -> session start -> session end, one consult each, by
  ``workers`` concurrent clinicians; cycles per second and latency percentiles;
- queries per live update: statements run by one announcement (a request filed), per
  recipient;
- the live queue of a specialist with ``--queue`` open requests, as /api/consults builds
  it: time and statements.

PostgreSQL is a throwaway server started here (Debian's binaries), fsync off like the
tests: compare engines, not disks. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL

from bench.engines import on_engines
from consult_server.accounts.demo import load_demo
from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.accounts.repository import AccountRepository
from consult_server.config import ConsultConfig
from consult_server.consults.lifecycle import Urgency
from consult_server.consults.models import NewConsult
from consult_server.consults.patient import Patient, Sex
from consult_server.consults.repository import ConsultRepository
from consult_server.consults.service import Consults
from consult_server.store import migrate
from consult_server.store.db import Database

PASSWORD = "bench-password-1"  # noqa: S105 (throwaway demo accounts)


class Counter:
    def __init__(self, db: Database) -> None:
        self.statements = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.statements += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _user(accounts: Accounts, db: Database, username: str) -> User:
    row = await db.fetch_one("SELECT id FROM users WHERE username = ?", (username,))
    assert row is not None
    user = await accounts.user(int(row["id"]))
    assert user is not None
    return user


async def run_engine(url: URL, args: argparse.Namespace) -> dict[str, Any]:
    migrate.upgrade(url)
    db = Database(url)
    await db.open()
    try:
        accounts = Accounts(AccountRepository(db))
        consults = Consults(ConsultRepository(db), accounts, ConsultConfig())
        notified: list[int] = []

        async def notify(users: set[int], _payload: dict[str, Any]) -> None:
            notified.extend(users)

        consults.set_notifier(notify)
        facilities = await load_demo(accounts, PASSWORD)
        for index in range(args.specialists):
            await accounts.create_user(
                f"bench.specialist{index}",
                PASSWORD,
                Role.SPECIALIST,
                facilities["district"],
                f"BS. Bench {index}",
                frozenset({"internal-medicine"}),
                replace=True,
            )
        clinician = await _user(accounts, db, "clinician.demo")
        specialist = await _user(accounts, db, "specialist.demo")
        request = NewConsult(
            "internal-medicine",
            Urgency.ROUTINE,
            "ho kéo dài",
            Patient("Lò Văn Páo", 1961, Sex.MALE),
            True,
        )
        counter = Counter(db)

        # Statements per live update: one request filed, announced to its audience.
        notified.clear()
        before = counter.statements
        await consults.create(clinician, request)
        announce: dict[str, float] = {
            "statements_for_one_request": counter.statements - before,
            "recipients": len(notified),
        }
        announce["statements_per_recipient"] = round(
            announce["statements_for_one_request"] / max(1, len(notified)), 2
        )

        cycles: dict[str, Any] = {}
        for workers in args.workers:
            latencies: list[float] = []

            async def worker(count: int, latencies: list[float] = latencies) -> None:
                for _ in range(count):
                    started = time.perf_counter()
                    consult = await consults.create(clinician, request)
                    await consults.accept(specialist, consult.id)
                    await consults.session_started(consult.id, time.time())
                    await consults.session_ended(consult.id, time.time(), "all_left")
                    latencies.append(time.perf_counter() - started)

            each = max(1, args.cycles // workers)
            began = time.perf_counter()
            await asyncio.gather(*(worker(each) for _ in range(workers)))
            elapsed = time.perf_counter() - began
            cycles[f"workers_{workers}"] = {
                "cycles": len(latencies),
                "cycles_per_s": round(len(latencies) / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            }

        # A specialist's live queue with many open requests.
        for _ in range(args.queue):
            await consults.create(clinician, request)
        before = counter.statements
        began = time.perf_counter()
        items = await consults.describe_all(await consults.list_for(specialist), specialist)
        queue = {
            "open_requests": sum(1 for i in items if i["state"] == "requested"),
            "items": len(items),
            "ms": round((time.perf_counter() - began) * 1000, 1),
            "statements": counter.statements - before,
        }
        return {"announce": announce, "cycles": cycles, "queue": queue}
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async def run(url: URL) -> dict[str, Any]:
        return await run_engine(url, args)

    return await on_engines(args.engines, run)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--workers", default="1,8")
    parser.add_argument("--queue", type=int, default=200)
    parser.add_argument("--specialists", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    args.engines = args.engines.split(",")
    print(json.dumps(asyncio.run(main(args)), indent=2))


if __name__ == "__main__":
    cli()
