"""The demo's two months of history, over the real app on both engines: written once,
through each part's own repository, so that a supervisor's first figures page shows
consults of every outcome, waits, calls, dispositions and bookings; a second load
changes nothing, and the review list and the audit chain stay whole."""

from __future__ import annotations

import asyncio
import datetime

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role
from consult_server.audit.chain import AUDIT, verify
from consult_server.config import CONFIG
from consult_server.local_time import today
from consult_server.stats.demo import DAYS, load_history
from consult_server.stats.figures import Filters
from consult_server.stats.service import STATS
from consult_server.store.db import DB
from tests.support.inproc import Harness


async def test_the_demo_history_fills_the_figures_once(harness: Harness) -> None:
    db = harness.app[DB]
    accounts = harness.app[ACCOUNTS]
    audit = harness.app[AUDIT]
    assert await load_history(db, accounts, audit) == 48
    assert await load_history(db, accounts, audit) == 0, "written once"
    rows = await db.fetch_all("SELECT state, COUNT(*) AS n FROM consults GROUP BY state")
    states = {r["state"]: int(r["n"]) for r in rows}
    assert set(states) == {"ended", "cancelled", "expired"}
    assert states["expired"] == 6 and states["cancelled"] == 6

    supervisor = await accounts.store.credentials("supervisor.demo")
    assert supervisor is not None
    viewer = await accounts.user(supervisor.user_id)
    assert viewer is not None and viewer.role is Role.SUPERVISOR
    first = today() - datetime.timedelta(days=DAYS)
    shown = await harness.app[STATS].figures(
        viewer, Filters(first.replace(day=1), today(), "month"), "vi"
    )
    total = shown.total
    booked_held = 6  # eight weeks' bookings, two of them missed
    assert total.requested == 48 + booked_held
    assert total.completed == 36 + booked_held and total.expired == 6
    assert total.escalations == 6
    assert total.wait_median_s is not None and 40 <= total.wait_median_s <= 900
    assert total.calls == 36 + booked_held and total.call_seconds > 36 * 6 * 60
    assert sum(total.dispositions.values()) == 36 + booked_held
    assert (total.booked, total.missed) == (8, 2)
    verdict = await asyncio.to_thread(verify, harness.app[CONFIG].database_url)
    assert verdict.ok and verdict.entries >= 36 + booked_held, "every signature is chained"
    # The supervisor's page draws it (no zeros).
    page = await (await (await harness.login("supervisor.demo")).get("/stats")).text()
    assert 'data-testid="stats-chart"' in page and ">54<" in page
