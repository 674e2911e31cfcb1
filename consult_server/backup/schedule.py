"""Backups the server takes by itself: every ``backup.every_hours`` into a new directory
of ``backup.dir`` (``backup-20261207T101500Z``), the oldest beyond ``backup.keep``
removed. Each one, and each failure, is an entry in the audit chain (the server's own,
``system:backup``, with the node that took it); a failure is logged without any medical
data and tried again at the next turn. The work runs in a thread: the calls on this
process go on.

Several processes (``serve --processes``, several hosts) share the database, the stores
and ``backup.dir``: each turn is claimed in the registry (``claim_once``), and only the
node that wins it takes the backup; the others wait for the next turn.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from consult_server.audit.chain import AUDIT, Actor, AuditLog
from consult_server.backup.make import make_backup
from consult_server.backup.manifest import Manifest
from consult_server.cluster.registry import REGISTRY, Registry
from consult_server.config import CONFIG, Config

log = logging.getLogger(__name__)
PREFIX = "backup-"
STAMP = "%Y%m%dT%H%M%SZ"
#: A turn's claim lasts this long unless the node taking the backup keeps it.
CLAIM_SECONDS = 30.0


def taken(directory: Path) -> list[Path]:
    """The scheduled backups in ``directory``, oldest first (finished ones: a manifest)."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.glob(f"{PREFIX}*") if p.is_dir() and (p / "manifest.json").exists()
    )


def _name(at: float) -> str:
    return PREFIX + time.strftime(STAMP, time.gmtime(at))


def _last_at(directory: Path) -> float:
    backups = taken(directory)
    if not backups:
        return 0.0
    try:
        return float(calendar.timegm(time.strptime(backups[-1].name[len(PREFIX) :], STAMP)))
    except ValueError:
        return 0.0


def _backup_and_prune(config: Config, target: Path) -> tuple[Manifest, list[str]]:
    """In a worker thread: the backup, then the oldest beyond ``keep`` removed."""
    directory = target.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        manifest = make_backup(config, target, config.backup.passphrase)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    pruned = [p.name for p in taken(directory)[: -config.backup.keep]]
    for name in pruned:
        shutil.rmtree(directory / name, ignore_errors=True)
    return manifest, pruned


async def take_one(config: Config, audit: AuditLog, node: str = "") -> Path | None:
    """One scheduled backup now, the old ones pruned; audited either way."""
    target = Path(config.backup.dir) / _name(time.time())
    actor = Actor.system("backup")
    obj = f"backup:{target.name}"
    try:
        manifest, pruned = await asyncio.to_thread(_backup_and_prune, config, target)
    except Exception as exc:
        log.error("scheduled backup failed: %s", type(exc).__name__)
        await audit.append(actor, "backup_failed", obj, {"error": type(exc).__name__, "node": node})
        return None
    detail = {
        "node": node,
        "audit_head": manifest.audit_head,
        "files": len(manifest.files),
        "bytes": sum(entry.size for entry in manifest.files.values()),
        "sealed": manifest.sealing is not None,
        "pruned": pruned,
    }
    await audit.append(actor, "backup", obj, detail)
    log.info("scheduled backup %s: %d files", target.name, len(manifest.files))
    return target


async def _keep(registry: Registry, turn: str) -> None:
    """Hold the turn while the backup runs (a node that dies lets it go in
    ``CLAIM_SECONDS``, and another takes the turn)."""
    while True:
        await asyncio.sleep(CLAIM_SECONDS / 3)
        await registry.keep_claim(turn, CLAIM_SECONDS)


async def run_schedule(config: Config, audit: AuditLog, registry: Registry) -> None:
    """Take a backup each turn this node wins (every node computes the same turn from
    the last backup finished in ``backup.dir``)."""
    every = config.backup.every_hours * 3600
    while True:
        due = _last_at(Path(config.backup.dir)) + every
        await asyncio.sleep(max(0.0, due - time.time()))
        turn = f"backup:{due:.3f}"
        if await registry.claim_once(turn, CLAIM_SECONDS):
            keeper = asyncio.create_task(_keep(registry, turn))
            try:
                await take_one(config, audit, registry.node_id)
            finally:
                keeper.cancel()
        else:
            # Another node takes this turn; look again once it may have finished.
            await asyncio.sleep(min(every, 60.0))


async def scheduled_backups(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: the loop while the server runs (none when off)."""
    config = app[CONFIG]
    task = None
    if config.backup.every_hours > 0:
        task = asyncio.create_task(run_schedule(config, app[AUDIT], app[REGISTRY]))
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
