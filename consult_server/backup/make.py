"""``consult-server backup DEST``: a consistent copy while the server runs.

The database first (its own snapshot: see ``engines.py``), then the files: an attached
file is in its place before its row commits and never changes after, so every file the
snapshot names is there to copy; a recording still being written is copied as far as it
got (its row says "recording"). Then the manifest, last. The copy holds:

    manifest.json
    database.sqlite3 | database.pgdump
    data/secret_key                      (when the data directory keeps one)
    data/files/sha256/…, data/files/thumbs/…
    data/recordings/<room>/<session>/<participant>.webm

Everything is 0600 in 0700 directories; sealed under ``backup.passphrase`` if set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import URL

from consult_server.audit.chain import head
from consult_server.backup import engines
from consult_server.backup.manifest import DATA, DATABASE_FILE, Entry, Manifest
from consult_server.backup.sealing import Keys, describe, new_salt, seal
from consult_server.config import Config
from consult_server.store import migrate
from consult_server.store.engine import SQLITE, backend_of
from recordings.files import sha256_of

#: What of the data directory a backup holds (the database is copied its own way).
STORES = ("files/sha256", "files/thumbs", "recordings")


def data_files(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """Each file to keep, with its path in the copy."""
    key = data_dir / "secret_key"
    if key.is_file():
        yield key, f"{DATA}/secret_key"
    for store in STORES:
        root = data_dir / store
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path, f"{DATA}/{path.relative_to(data_dir).as_posix()}"


def prepare_target(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise engines.BackupError(f"{dest} is not an empty directory: a backup needs its own")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_backup(config: Config, dest: Path, passphrase: str = "") -> Manifest:
    prepare_target(dest)
    url = config.database_url
    engine = backend_of(url)
    salt = new_salt() if passphrase else None
    keys = Keys.derive(passphrase, salt) if salt is not None else None
    database = dest / DATABASE_FILE[engine]
    with tempfile.TemporaryDirectory(dir=dest, prefix=".plain-") as scratch:
        plain = Path(scratch) / "database"
        if engine == SQLITE:
            engines.copy_sqlite(config.database_path, plain)
            copy_url = URL.create("sqlite", database=str(plain))
            audit_head = head(copy_url)
            counts = engines.counts(copy_url)
            version = migrate.status(copy_url)[0]
            engines.settle_sqlite(plain)
        else:
            # The head first: the dump's snapshot then holds that entry (and maybe more).
            audit_head = head(url)
            engines.dump_postgresql(url, plain, config.backup.pg_bin)
            counts = {}
            version = migrate.status(url)[0]
        manifest = Manifest(
            engine=engine,
            created_at=time.time(),
            schema_version=version,
            data_dir=str(config.data_dir),
            audit_head=audit_head,
            sealing=describe(salt) if salt is not None else None,
            counts=counts,
        )
        _keep(plain, database, DATABASE_FILE[engine], keys, manifest)
    for source, name in data_files(config.data_dir):
        target = dest / name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _keep(source, target, name, keys, manifest, copy=True)
    manifest.write(dest, keys)
    return manifest


def _keep(
    source: Path, target: Path, name: str, keys: Keys | None, manifest: Manifest, copy: bool = False
) -> None:
    """Put ``source`` at ``target`` (sealed if there are keys) and list it."""
    if keys is not None:
        plain_sha = seal(keys, source, target, name)
    elif copy:
        shutil.copyfile(source, target)
        plain_sha = ""
    else:
        os.replace(source, target)
        plain_sha = ""
    os.chmod(target, 0o600)
    stored_sha, size = sha256_of(target)
    manifest.files[name] = Entry(size, stored_sha, plain_sha or stored_sha)
