"""Start-up recovery: a recording a crash left 'recording' becomes 'interrupted', hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from consult_server import keys
from consult_server.consults import NewConsult
from consult_server.recovery import recover_recordings
from signaling.consult import Urgency
from tests.support.inproc import Harness


async def test_files_left_by_a_crash_are_hashed_and_marked_interrupted(
    clock_harness: Harness, tmp_path: Path
) -> None:
    app = clock_harness.app
    clinician = await app[keys.ACCOUNTS].authenticate("clinician.demo", "demo-password-for-tests")
    assert clinician is not None
    consult = await app[keys.CONSULTS].create(
        clinician, NewConsult("internal-medicine", Urgency.ROUTINE, "x", consent=True)
    )
    left = tmp_path / "1.mkv"
    left.write_bytes(b"\x1a\x45\xdf\xa3" + b"cluster" * 1000)
    db = app[keys.DB]
    for path in (left, tmp_path / "never-written.mkv"):
        await db.execute(
            "INSERT INTO recordings (consult_id, user_id, role, path, started_at, status)"
            " VALUES (?, ?, 'clinician', ?, 1.0, 'recording')",
            (consult.id, clinician.id, str(path)),
        )
    assert await recover_recordings(db) == 1
    rows = await db.fetch_all("SELECT path, status, size, sha256 FROM recordings")
    assert [(r["path"], r["status"]) for r in rows] == [(str(left), "interrupted")]
    assert rows[0]["size"] == left.stat().st_size
    assert rows[0]["sha256"] == hashlib.sha256(left.read_bytes()).hexdigest()
    assert await recover_recordings(db) == 0, "recovery is idempotent"
