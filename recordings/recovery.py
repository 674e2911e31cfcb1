"""At start-up: files a crash left behind are hashed and marked interrupted.

A recording's catalog entry is written as 'recording' when it starts; only a clean end
turns it 'complete'. Any entry still 'recording' when the server starts belongs to a
process that died: its file (written so that it plays up to about a second before the
kill) is remuxed into a complete one (duration, cues: players can seek it), then gets its
size and SHA-256 and the status 'interrupted'; an entry whose file never got a frame is
removed.

Only entries whose recorder is gone are touched: each names the process writing it
("host:pid"). Another host's entries are left to that host's own start-up, and entries
of a process still alive on this host (several processes can share one database) are
still being written. (A dead recorder's pid taken by an unrelated process delays its
recovery to the next start.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

from recordings.files import sha256_of
from recordings.ports import Store
from recordings.remux import remux

log = logging.getLogger(__name__)


def orphaned(recorder: str | None) -> bool:
    """Is the process that wrote this entry gone (and the entry ours to recover)?"""
    if recorder is None:
        return True
    host, _, pid = recorder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def recover_recordings(db: Store) -> int:
    """Mark what a crash left; return how many files were recovered."""
    rows = await db.fetch_all(
        "SELECT id, path, recorder FROM recordings WHERE status = 'recording'"
    )
    recovered = 0
    for row in rows:
        if not orphaned(row["recorder"]):
            continue
        path = Path(row["path"])
        if not await asyncio.to_thread(path.exists):
            await db.execute("DELETE FROM recordings WHERE id = ?", (row["id"],))
            continue
        ended = (await asyncio.to_thread(path.stat)).st_mtime
        await asyncio.to_thread(remux, path)
        digest, size = await asyncio.to_thread(sha256_of, path)
        await db.execute(
            "UPDATE recordings SET status = 'interrupted', size = ?, sha256 = ?, ended_at = ?"
            " WHERE id = ?",
            (size, digest, ended, row["id"]),
        )
        recovered += 1
    await db.execute(
        "UPDATE recording_sessions SET ended_at = (SELECT MAX(r.ended_at) FROM recordings r"
        " WHERE r.session_id = recording_sessions.id) WHERE ended_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id = recording_sessions.id"
        " AND r.status = 'recording')"
    )
    if recovered:
        log.warning("%d recording(s) interrupted by a crash were recovered", recovered)
    return recovered
