"""The operator's verbs for backups (consult_server/backup/):

    consult-server backup DEST          a consistent copy now, while the server runs
    consult-server backup verify DEST   check a copy without restoring it
    consult-server restore DEST         onto an empty data directory and database

A sealed copy (``backup.passphrase``) is checked whole and restored only with its
passphrase. Exit status: 0 done, 1 a copy that does not verify, 2 refused.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from consult_server.audit.chain import Actor, AuditLog
from consult_server.backup.engines import BackupError
from consult_server.backup.make import make_backup
from consult_server.backup.restore import restore_backup
from consult_server.backup.sealing import SealError
from consult_server.backup.verify import verify_backup
from consult_server.config import Config
from consult_server.store.db import Database

BACKUP_COMMANDS = ("backup", "restore")


def add_backup_parsers(sub: Any) -> None:
    backup = sub.add_parser(
        "backup",
        help="copy the database and files now (backup DEST), or check a copy (backup verify DEST)",
    )
    backup.add_argument("words", nargs="+", metavar="[verify] DEST")
    restore = sub.add_parser(
        "restore", help="restore a backup onto an empty data directory and database"
    )
    restore.add_argument("source", type=Path, metavar="DEST")


def run_backup(config: Config, args: argparse.Namespace) -> int:
    passphrase = config.backup.passphrase
    try:
        if args.command == "restore":
            return _restore(config, args.source, passphrase)
        words = list(args.words)
        if len(words) == 2 and words[0] == "verify":
            return _verify(Path(words[1]), passphrase, config.backup.pg_bin)
        if len(words) != 1:
            print("consult-server: backup DEST, or backup verify DEST")
            return 2
        manifest = make_backup(config, Path(words[0]), passphrase)
    except (BackupError, SealError) as exc:
        print(f"consult-server: {exc}")
        return 2
    total = sum(entry.size for entry in manifest.files.values())
    sealed = " (sealed)" if manifest.sealing else ""
    print(
        f"backup{sealed} written: {len(manifest.files)} files, {total} bytes;"
        f" audit head {manifest.audit_head}"
    )
    return 0


def _verify(source: Path, passphrase: str, pg_bin: str) -> int:
    report = verify_backup(source, passphrase, pg_bin)
    for problem in report.problems:
        print(f"  {problem}")
    if not report.ok:
        print(f"backup BROKEN: {len(report.problems)} problems")
        return 1
    manifest = report.manifest
    assert manifest is not None
    if not report.opened:
        print(
            f"backup intact as stored: {len(manifest.files)} files (sealed: set"
            " backup.passphrase to check what is inside)"
        )
    else:
        print(f"backup intact: {len(manifest.files)} files; audit head {manifest.audit_head}")
    return 0


def _restore(config: Config, source: Path, passphrase: str) -> int:
    restored = restore_backup(config, source, passphrase)
    asyncio.run(_record(config, source, restored.manifest.audit_head))
    counts = ", ".join(f"{name} {n}" for name, n in restored.counts.items())
    print(f"restored {restored.files} files; {counts}")
    return 0


async def _record(config: Config, source: Path, audit_head: str) -> None:
    db = Database(config.database_url)
    await db.open()
    try:
        await AuditLog(db).append(
            Actor.system("restore"), "restore", f"backup:{source.name}", {"audit_head": audit_head}
        )
    finally:
        await db.close()
