"""``consult-server restore DEST``: a verified backup onto an empty data directory and
an empty database (anything there is refused, never overwritten).

The copy is verified first (a changed byte stops it before anything is written). Then
the database (SQLite's backup API into the new file, or ``pg_restore``), pending
migrations (a backup of an older release), the files, and the recordings' catalogued
paths moved to the new data directory. Last, the checks a restored service must pass:
the audit chain intact up to the manifest's head, and every catalogued file and
recording with its hash. The restore is recorded in the chain. A failure after writing
began removes what this restore wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from consult_server.audit.chain import parse_head, verify
from consult_server.backup import engines
from consult_server.backup.manifest import DATA, DATABASE_FILE, Manifest
from consult_server.backup.verify import catalog_problems, plain_database, plain_file, verify_backup
from consult_server.config import Config
from consult_server.store import migrate
from consult_server.store.engine import SQLITE, backend_of

#: Directories of the data directory that must be empty to restore into it.
_STORES = ("files", "recordings")


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    counts: dict[str, int]
    files: int


def restore_backup(config: Config, source: Path, passphrase: str = "") -> Restored:
    report = verify_backup(source, passphrase, config.backup.pg_bin)
    if report.manifest is None or not report.ok:
        shown = "; ".join(report.problems[:5])
        raise engines.BackupError(f"the backup does not verify, nothing restored: {shown}")
    manifest = report.manifest
    if not report.opened:
        raise engines.BackupError("this backup is sealed: set backup.passphrase to restore it")
    keys = report.keys
    url = config.database_url
    if backend_of(url) != manifest.engine:
        raise engines.BackupError(
            f"this backup is of a {manifest.engine} database; the configured one is"
            f" {backend_of(url)}"
        )
    if engines.has_tables(url):
        raise engines.BackupError("the database is not empty: restore onto an empty one")
    data_dir = config.data_dir
    for store in _STORES:
        if any(p.is_file() for p in (data_dir / store).rglob("*")):
            raise engines.BackupError(
                f"{data_dir / store} is not empty: restore onto an empty data directory"
            )
    written: list[Path] = []
    try:
        with plain_database(source, manifest, keys) as database:
            if manifest.engine == SQLITE:
                written.append(config.database_path)
                engines.copy_sqlite(database, config.database_path)
            else:
                engines.restore_postgresql(url, database, config.backup.pg_bin)
        migrate.upgrade(url)
        count = 0
        for name in manifest.files:
            if name == DATABASE_FILE[manifest.engine]:
                continue
            target = data_dir / name.removeprefix(f"{DATA}/")
            _write(target, plain_file(source, name, keys), written)
            count += 1
        engines.move_recordings(url, manifest.data_dir, str(data_dir))
        verdict = verify(url, parse_head(manifest.audit_head))
        if not verdict.ok:
            raise engines.BackupError(f"restored audit chain broken at {verdict.broken_at}")
        moved = dataclasses.replace(manifest, data_dir=str(data_dir))
        problems = catalog_problems(url, moved)
        if problems:
            raise engines.BackupError("; ".join(problems[:5]))
        return Restored(manifest, engines.counts(url), count)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _write(target: Path, chunks: Iterable[bytes], written: list[Path]) -> None:
    """Write a file whole or not at all (the secret key a fresh data directory was
    given moments ago is replaced by the backup's)."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.restoring")
    written.append(partial)
    with partial.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    os.chmod(partial, 0o600)
    os.replace(partial, target)
    written.append(target)
