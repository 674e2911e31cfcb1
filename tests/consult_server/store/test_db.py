"""The store's transactions, on both engines."""

from __future__ import annotations

from consult_server.store.db import DB
from tests.support.inproc import Harness

COUNT = "SELECT COUNT(*) AS n FROM specialties"


async def test_a_reading_is_one_snapshot_while_others_write(harness: Harness) -> None:
    """Several queries in one ``reading()`` agree (the facts of a consult, a page and its
    count): a write committed meanwhile is not half seen."""
    db = harness.app[DB]
    async with db.reading() as tx:
        before = await tx.fetch_one(COUNT)
        await db.execute(
            "INSERT INTO specialties (code, name_vi, name_en) VALUES ('x-ray', 'X', 'X')"
        )
        during = await tx.fetch_one(COUNT)
    after = await db.fetch_one(COUNT)
    assert before is not None and during is not None and after is not None
    assert during["n"] == before["n"]
    assert after["n"] == before["n"] + 1
