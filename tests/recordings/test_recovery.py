"""Start-up recovery: a recording a crash left 'recording' is remuxed into a playable,
seekable file, hashed, and marked 'interrupted'."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av

from consult_server.accounts.directory import ACCOUNTS
from consult_server.consults.lifecycle import Urgency
from consult_server.consults.service import CONSULTS
from consult_server.store.db import DB
from recordings.catalog import RecordingCatalog
from recordings.recovery import recover_recordings
from tests.support.consult_requests import new_consult
from tests.support.inproc import Harness

ROOT = Path(__file__).resolve().parents[2]


def killed_recording(path: Path, seconds: float) -> None:
    """A file whose recorder process was killed with SIGKILL after ``seconds``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.record_until_killed", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("RECORDING")
    time.sleep(seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()


async def test_files_left_by_a_crash_are_remuxed_hashed_and_marked_interrupted(
    clock_harness: Harness, tmp_path: Path
) -> None:
    app = clock_harness.app
    clinician = await app[ACCOUNTS].authenticate("clinician.demo", "demo-password-for-tests")
    assert clinician is not None
    consult = await app[CONSULTS].create(
        clinician, new_consult("internal-medicine", Urgency.ROUTINE, "x", consent=True)
    )
    left = tmp_path / "1.webm"
    killed_recording(left, 3.2)
    with av.open(str(left)) as container:
        assert container.duration is None, "a killed recorder leaves no duration"
    db = app[DB]
    session = await db.insert(
        "INSERT INTO recording_sessions (consult_id, started_at) VALUES (?, 1.0) RETURNING id",
        (consult.id,),
    )
    for path in (left, tmp_path / "never-written.webm"):
        await db.execute(
            "INSERT INTO recordings (consult_id, session_id, user_id, role, path, started_at,"
            " status) VALUES (?, ?, ?, 'clinician', ?, 1.0, 'recording')",
            (consult.id, session, clinician.id, str(path)),
        )
    assert await recover_recordings(RecordingCatalog(db)) == 1
    rows = await db.fetch_all("SELECT path, status, size, sha256 FROM recordings")
    assert [(r["path"], r["status"]) for r in rows] == [(str(left), "interrupted")]
    assert rows[0]["size"] == left.stat().st_size
    assert rows[0]["sha256"] == hashlib.sha256(left.read_bytes()).hexdigest()
    ended = await db.fetch_one("SELECT ended_at FROM recording_sessions WHERE id = ?", (session,))
    assert ended is not None and ended["ended_at"] is not None
    with av.open(str(left)) as container:
        assert container.duration is not None and container.duration > 1_500_000
        decoded = sum(len(packet.decode()) for packet in container.demux(video=0))
        assert decoded >= 60
        container.seek(1_000_000)  # cues: a player can seek
    assert await recover_recordings(RecordingCatalog(db)) == 0, "recovery is idempotent"


async def test_only_entries_whose_recorder_is_gone_are_recovered(
    clock_harness: Harness, tmp_path: Path
) -> None:
    """Several processes share one database: a live one's recordings are left alone."""
    app = clock_harness.app
    db = app[DB]
    clinician = await app[ACCOUNTS].authenticate("clinician.demo", "demo-password-for-tests")
    assert clinician is not None
    consult = await app[CONSULTS].create(
        clinician, new_consult("internal-medicine", Urgency.ROUTINE, "x", consent=True)
    )
    alive = await asyncio.create_subprocess_exec("sleep", "60")
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    host = socket.gethostname()
    try:
        recorders = {
            "live-process": f"{host}:{alive.pid}",
            "dead-process": f"{host}:{dead.pid}",
            "other-host": f"not-{host}:{dead.pid}",
            "this-process": f"{host}:{os.getpid()}",
        }
        for name, recorder in recorders.items():
            path = tmp_path / f"{name}.webm"
            path.write_bytes(b"\x1a\x45\xdf\xa3 not a finished file")
            await db.execute(
                "INSERT INTO recordings (consult_id, user_id, role, path, started_at, status,"
                " recorder) VALUES (?, ?, 'clinician', ?, 1.0, 'recording', ?)",
                (consult.id, clinician.id, str(path), recorder),
            )
        assert await recover_recordings(RecordingCatalog(db)) == 1
        rows = await db.fetch_all("SELECT path, status FROM recordings ORDER BY id")
        states = {Path(r["path"]).stem: r["status"] for r in rows}
        assert states == {
            "live-process": "recording",
            "dead-process": "interrupted",
            "other-host": "recording",
            "this-process": "recording",
        }
    finally:
        alive.kill()
        await alive.wait()
