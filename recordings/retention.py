"""Retention: recordings older than ``recordings.retention_days`` are deleted.

The file goes; the catalog keeps the entry, marked deleted with the time, and the audit
log gets one "delete" entry per file from the server itself.
"""

from __future__ import annotations

import asyncio
import logging
import time

from recordings.catalog import RecordingCatalog
from recordings.ports import AuditAppend

log = logging.getLogger(__name__)
DAY = 86400.0


async def delete_expired(
    catalog: RecordingCatalog, audit: AuditAppend, days: int, now: float | None = None
) -> int:
    """Delete what is due; return how many entries this call marked deleted (another
    process deleting the same ones at once counts them there). ``days`` 0 keeps all.
    ``audit`` appends the server's own entries (``AuditLog.for_system``)."""
    if days <= 0:
        return 0
    now = time.time() if now is None else now
    deleted = 0
    for entry in await catalog.kept_since_before(now - days * DAY):
        path = entry.path
        # The file first, then the catalog and the audit entry together: a crash in
        # between leaves the entry due, and the next run deletes (nothing) and records it.
        await asyncio.to_thread(path.unlink, missing_ok=True)
        detail = {"reason": "retention", "days": days, "size": entry.size}
        if await catalog.deleted(entry, now, audit, detail):
            deleted += 1
        # Remove the session's directory once it is empty (keeps the data dir tidy).
        for directory in (path.parent, path.parent.parent):
            try:
                await asyncio.to_thread(directory.rmdir)
            except OSError:
                break
    if deleted:
        log.info("retention: %d recording file(s) deleted", deleted)
    return deleted
