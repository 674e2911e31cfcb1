"""``consult-server backup verify DEST``: is this copy whole and sound, without restoring
it?

- the manifest reads (and, sealed, its MAC holds under the passphrase);
- every listed file is there with its size and SHA-256, and nothing else is;
- sealed, with the passphrase: every file opens and its plaintext has the listed hash;
- the database copy is sound (SQLite: its integrity check, its audit chain intact up to
  the manifest's head, its counts as listed, and every attached file and complete
  recording it catalogues is in the copy with the hash it catalogues; PostgreSQL: the
  dump reads back, the rest is checked on restore).

Without the passphrase a sealed copy's stored hashes are checked, and the report says
its contents were not opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL

from consult_server.audit.chain import parse_head, verify
from consult_server.backup import engines
from consult_server.backup.manifest import DATA, DATABASE_FILE, NAME, Manifest
from consult_server.backup.sealing import Keys, SealError, salt_of, unseal
from recordings.files import sha256_of


@dataclass
class Report:
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    #: Whether the contents were opened (False: a sealed copy checked without its key).
    opened: bool = True
    #: The passphrase's keys, when a sealed copy was opened with them (derived once).
    keys: Keys | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_backup(source: Path, passphrase: str = "", pg_bin: str = "") -> Report:
    report = Report()
    try:
        manifest, mac = Manifest.read(source)
    except ValueError as exc:
        report.problems.append(str(exc))
        return report
    report.manifest = manifest
    keys = report.keys = _keys(manifest, mac, passphrase, report)
    if report.problems:
        return report
    report.opened = manifest.sealing is None or keys is not None
    listed = set(manifest.files)
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {NAME}
    report.problems += [f"{name}: not in the manifest" for name in sorted(present - listed)]
    for name, entry in sorted(manifest.files.items()):
        path = source / name
        if not path.is_file():
            report.problems.append(f"{name}: missing")
            continue
        if sha256_of(path) != (entry.sha256, entry.size):
            report.problems.append(f"{name}: changed (its SHA-256 is not the listed one)")
        elif keys is not None:
            try:
                if _plain_sha256(keys, path, name) != entry.plain_sha256:
                    report.problems.append(f"{name}: its contents are not the listed ones")
            except SealError as exc:
                report.problems.append(str(exc))
    if report.problems or not report.opened:
        return report
    with plain_database(source, manifest, keys) as database:
        report.problems += _database_problems(database, manifest, pg_bin)
    return report


def _keys(manifest: Manifest, mac: str | None, passphrase: str, report: Report) -> Keys | None:
    if manifest.sealing is None or not passphrase:
        return None
    try:
        keys = Keys.derive(passphrase, salt_of(manifest.sealing))
        manifest.check_mac(mac, keys)
    except SealError as exc:
        report.problems.append(str(exc))
        return None
    return keys


def _plain_sha256(keys: Keys, path: Path, name: str) -> str:
    digest = hashlib.sha256()
    for chunk in unseal(keys, path, name):
        digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def plain_database(source: Path, manifest: Manifest, keys: Keys | None) -> Iterator[Path]:
    """The database copy, as a temporary file (opened when sealed): checking it must
    not touch the backup (opening an SQLite file writes its journal files beside it)."""
    name = DATABASE_FILE[manifest.engine]
    with tempfile.TemporaryDirectory(prefix="consult-backup-") as scratch:
        plain = Path(scratch) / name
        with plain.open("wb") as out:
            for chunk in plain_file(source, name, keys):
                out.write(chunk)
        yield plain


def plain_file(source: Path, name: str, keys: Keys | None) -> Iterator[bytes]:
    """A file of the copy, as it was."""
    if keys is not None:
        yield from unseal(keys, source / name, name)
        return
    with (source / name).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def _database_problems(database: Path, manifest: Manifest, pg_bin: str) -> list[str]:
    if manifest.engine != "sqlite":
        problem = engines.check_dump(database, pg_bin)
        return [problem] if problem else []
    problem = engines.check_sqlite(database)
    if problem:
        return [problem]
    url = URL.create("sqlite", database=str(database))
    verdict = verify(url, parse_head(manifest.audit_head))
    problems = []
    if not verdict.ok:
        problems.append(f"audit chain broken at entry {verdict.broken_at}: {verdict.reason}")
    counted = engines.counts(url)
    if manifest.counts and counted != manifest.counts:
        problems.append(f"the database holds {counted}, the manifest lists {manifest.counts}")
    return problems + catalog_problems(url, manifest)


def catalog_problems(url: URL, manifest: Manifest) -> list[str]:
    """Every attached file and complete recording the database catalogues is in the
    copy, with the hash it catalogues."""
    problems = []
    files, recordings = engines.catalogued(url)
    plain = {name: entry.plain_sha256 for name, entry in manifest.files.items()}
    for sha in files:
        name = f"{DATA}/files/sha256/{sha[:2]}/{sha}"
        if plain.get(name) != sha:
            problems.append(f"attached file {sha[:12]}…: not in the copy as catalogued")
    base = manifest.data_dir.rstrip("/") + "/"
    for path, sha in recordings:
        name = f"{DATA}/{path[len(base) :]}" if path.startswith(base) else path
        if plain.get(name) != sha:
            problems.append(f"recording {name}: not in the copy as catalogued")
    return problems
