"""Retention: files past the configured age are deleted, each deletion audited, and the
catalog keeps the entry marked deleted; younger files and 0 (keep) are untouched."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from consult_server.audit.chain import AUDIT, AuditLog, verify
from consult_server.config import CONFIG
from consult_server.store.db import DB, Database
from recordings.catalog import RecordingCatalog
from recordings.retention import DAY, delete_expired
from tests.support.inproc import Harness
from tests.support.recorded import Seeded, insert_consult, seed_session


async def clinician_sessions(db: Database, tmp_path: Path, started: list[float]) -> list[Seeded]:
    """One consult of clinician.demo with a recorded session starting at each time."""
    clinician = await db.fetch_one(
        "SELECT id, facility_id FROM users WHERE username = 'clinician.demo'"
    )
    assert clinician is not None
    consult = await insert_consult(db, clinician["id"], clinician["facility_id"])
    return [
        await seed_session(db, tmp_path, consult, [(clinician["id"], "clinician")], started_at=at)
        for at in started
    ]


async def test_old_recordings_are_deleted_audited_and_kept_in_the_catalog(
    clock_harness: Harness, tmp_path: Path
) -> None:
    app = clock_harness.app
    db, audit = app[DB], app[AUDIT]
    now = time.time()
    old, young = await clinician_sessions(db, tmp_path, [now - 31 * DAY, now - 29 * DAY])
    assert await delete_expired(RecordingCatalog(db), audit.for_system("retention"), 0, now) == 0, (
        "0 keeps everything"
    )
    assert old.paths[0].exists()

    assert await delete_expired(RecordingCatalog(db), audit.for_system("retention"), 30, now) == 1
    assert not old.paths[0].exists() and young.paths[0].exists()
    rows = await db.fetch_all("SELECT id, status, deleted_at, sha256 FROM recordings ORDER BY id")
    assert [(r["id"], r["status"]) for r in rows] == [
        (old.recording_ids[0], "deleted"),
        (young.recording_ids[0], "complete"),
    ]
    assert rows[0]["deleted_at"] == now and rows[0]["sha256"], "the entry keeps its hash"
    entry = await db.fetch_one("SELECT actor_id, actor, action, object, detail FROM audit_log")
    assert entry is not None
    assert (entry["actor_id"], entry["actor"], entry["action"], entry["object"]) == (
        None,
        "system:retention",
        "delete",
        f"recording:{old.recording_ids[0]}",
    )
    assert '"reason":"retention"' in entry["detail"]
    assert (
        await delete_expired(RecordingCatalog(db), audit.for_system("retention"), 30, now) == 0
    ), "nothing twice"
    assert verify(app[CONFIG].database_url).entries == 1


async def test_two_processes_running_retention_at_once_audit_each_file_once(
    clock_harness: Harness, tmp_path: Path
) -> None:
    """Two servers sharing the database both find the same file due: one entry each."""
    app = clock_harness.app
    db, audit = app[DB], app[AUDIT]
    now = time.time()
    await clinician_sessions(db, tmp_path, [now - 31 * DAY])
    other = Database(app[CONFIG].database_url)  # the second process's connection
    await other.open()
    other_audit = AuditLog(other)
    try:
        counts = await asyncio.gather(
            delete_expired(RecordingCatalog(db), audit.for_system("retention"), 30, now),
            delete_expired(RecordingCatalog(other), other_audit.for_system("retention"), 30, now),
        )
    finally:
        await other.close()
    assert sorted(counts) == [0, 1]
    rows = await db.fetch_all("SELECT action, object FROM audit_log")
    assert [r["action"] for r in rows] == ["delete"]
    assert verify(app[CONFIG].database_url).entries == 1
