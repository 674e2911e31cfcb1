"""The audit log: appended through the app, hash-chained, append-only in SQL, and
``consult-server audit verify`` names the first entry that was edited or removed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from consult_server.audit.chain import AUDIT, Actor, AuditLog, verify
from consult_server.config import CONFIG
from consult_server.store.engine import POSTGRESQL, backend_of, open_sync
from tests.consult_server.test_cli import cli
from tests.support.inproc import Harness


async def fill(audit: AuditLog, count: int) -> None:
    row = await audit.db.fetch_one("SELECT id FROM users WHERE username = 'supervisor.demo'")
    assert row is not None
    actor = Actor(row["id"], "supervisor.demo", "10.0.0.5")
    for index in range(count):
        await audit.append(actor, "view", f"recording:{index}", {"n": index})


def database(harness: Harness) -> URL:
    return harness.app[CONFIG].database_url


def run_sql(url: URL, *statements: str) -> None:
    """What someone holding the database can do, outside the server."""
    engine = open_sync(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


async def test_entries_chain_and_verify(clock_harness: Harness) -> None:
    audit = clock_harness.app[AUDIT]
    await fill(audit, 5)
    verdict = verify(database(clock_harness))
    assert verdict.ok and verdict.entries == 5
    entries = await audit.for_objects(["recording:3"])
    assert [(e.actor, e.action, e.remote, e.detail) for e in entries] == [
        ("supervisor.demo", "view", "10.0.0.5", {"n": 3})
    ]
    with pytest.raises(ValueError):
        await audit.append(Actor.system("x"), "rewrite", "recording:1")


async def test_concurrent_appends_keep_one_chain(clock_harness: Harness) -> None:
    audit = clock_harness.app[AUDIT]
    await asyncio.gather(*(fill(audit, 10) for _ in range(5)))
    verdict = verify(database(clock_harness))
    assert verdict.ok and verdict.entries == 50


async def test_sql_refuses_updates_and_deletes(clock_harness: Harness) -> None:
    await fill(clock_harness.app[AUDIT], 2)
    for statement in (
        "UPDATE audit_log SET actor = 'someone' WHERE id = 1",
        "DELETE FROM audit_log WHERE id = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            run_sql(database(clock_harness), statement)


def tamper(db: URL, statement: str) -> None:
    """What someone with the database can do: drop the guard, then edit."""
    if backend_of(db) == POSTGRESQL:
        run_sql(db, "DROP TRIGGER audit_log_no_update ON audit_log", statement)
    else:
        run_sql(
            db, "DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete", statement
        )


async def test_verify_command_names_the_first_edited_entry(
    clock_harness: Harness, tmp_path: Path
) -> None:
    await fill(clock_harness.app[AUDIT], 6)
    db = database(clock_harness)
    env_dir = clock_harness.app[CONFIG].data_dir.parent  # cli() sets CONSULT_DATA_DIR
    url = clock_harness.app[CONFIG].database.url
    ok = cli(env_dir, "audit", "verify", database_url=url)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 6 entries" in ok.stdout
    tamper(db, "UPDATE audit_log SET actor = 'nobody' WHERE id = 4")
    broken = cli(env_dir, "audit", "verify", database_url=url)
    assert broken.returncode == 1
    assert "BROKEN at entry 4" in broken.stdout and "content" in broken.stdout


async def test_verify_detects_a_removed_entry_and_a_rehashed_one(clock_harness: Harness) -> None:
    await fill(clock_harness.app[AUDIT], 6)
    db = database(clock_harness)
    tamper(db, "DELETE FROM audit_log WHERE id = 3")
    verdict = verify(db)
    assert not verdict.ok and verdict.broken_at == 3 and "missing" in verdict.reason


async def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(
    clock_harness: Harness,
) -> None:
    from consult_server.audit.chain import content_of, entry_hash

    await fill(clock_harness.app[AUDIT], 4)
    db = database(clock_harness)
    row = await clock_harness.app[AUDIT].db.fetch_one(
        "SELECT at, actor_id, object, remote, detail, prev_hash FROM audit_log WHERE id = 2"
    )
    assert row is not None
    at, actor_id, prev = row["at"], row["actor_id"], str(row["prev_hash"])
    obj, remote, detail = str(row["object"]), str(row["remote"]), str(row["detail"])
    forged = entry_hash(2, prev, content_of(at, actor_id, "nobody", "view", obj, remote, detail))
    tamper(db, f"UPDATE audit_log SET actor = 'nobody', hash = '{forged}' WHERE id = 2")
    verdict = verify(db)
    assert verdict.broken_at == 3 and "previous" in verdict.reason


async def test_cutting_entries_off_the_end_is_found_against_an_exported_head(
    clock_harness: Harness,
) -> None:
    """Deleting the newest entries leaves a chain that is intact in itself; the head
    exported earlier (kept elsewhere) shows what is gone."""
    await fill(clock_harness.app[AUDIT], 6)
    db = database(clock_harness)
    env_dir = clock_harness.app[CONFIG].data_dir.parent
    url = clock_harness.app[CONFIG].database.url
    exported = cli(env_dir, "audit", "head", database_url=url)
    assert exported.returncode == 0, exported.stderr
    head = exported.stdout.strip()
    assert head.startswith("6:") and len(head) == 2 + 64
    ok = cli(env_dir, "audit", "verify", "--since", head, database_url=url)
    assert ok.returncode == 0 and "intact: 6 entries" in ok.stdout
    await fill(clock_harness.app[AUDIT], 2)  # the chain grows on: still fine
    assert cli(env_dir, "audit", "verify", "--since", head, database_url=url).returncode == 0

    tamper(db, "DELETE FROM audit_log WHERE id >= 5")
    assert verify(db).ok  # on its own, a shorter chain looks whole
    cut = cli(env_dir, "audit", "verify", "--since", head, database_url=url)
    assert cut.returncode == 1
    assert "BROKEN at entry 5" in cut.stdout and "entries 5 to 6 are gone" in cut.stdout
    bad = cli(env_dir, "audit", "verify", "--since", "six", database_url=url)
    assert bad.returncode == 2 and "ID:HASH" in bad.stderr
