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

from recordings.catalog import RecordingCatalog
from recordings.files import sha256_of
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


async def recover_recordings(catalog: RecordingCatalog) -> int:
    """Mark what a crash left; return how many files were recovered."""
    recovered = 0
    for entry in await catalog.unfinished():
        if not orphaned(entry.recorder):
            continue
        if not await asyncio.to_thread(entry.path.exists):
            await catalog.forget(entry.id)
            continue
        ended = (await asyncio.to_thread(entry.path.stat)).st_mtime
        await asyncio.to_thread(remux, entry.path)
        digest, size = await asyncio.to_thread(sha256_of, entry.path)
        await catalog.interrupted(entry.id, size, digest, ended)
        recovered += 1
    await catalog.close_abandoned_sessions()
    if recovered:
        log.warning("%d recording(s) interrupted by a crash were recovered", recovered)
    return recovered
