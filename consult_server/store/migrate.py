"""Versioned schema migrations, per engine: ``migrations/<engine>/NNNN_name.sql``.

Each file runs in one transaction together with its row in ``schema_migrations``, so
a failed migration leaves the database at the previous version with its data intact
(PostgreSQL's DDL is transactional; SQLite's too).

SQLite has every step from 0001. PostgreSQL starts at 0005, the whole schema of that
version in one file (no PostgreSQL database older than that exists); from 0006 on each
version exists for both engines under the same number (a test holds them to it).
Processes starting together on one PostgreSQL database take turns (an advisory lock).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from consult_server.store.engine import POSTGRESQL, SQLITE, backend_of, open_sync

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
#: Any constant: the advisory lock PostgreSQL migrations hold ("migr").
_LOCK = 0x6D696772
_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {real} NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def directory_for(url: URL) -> Path:
    return MIGRATIONS_DIR / backend_of(url)


def available(directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


def _pending(have: int, directory: Path, target: int | None) -> list[Migration]:
    return [
        m
        for m in available(directory)
        if m.version > have and (target is None or m.version <= target)
    ]


def upgrade(url: URL, directory: Path | None = None, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all); return those applied."""
    directory = directory or directory_for(url)
    if backend_of(url) == SQLITE:
        return _upgrade_sqlite(Path(url.database or ""), directory, target)
    return _upgrade_postgresql(url, directory, target)


def _upgrade_sqlite(path: Path, directory: Path, target: int | None) -> list[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(_TABLE.format(real="REAL"))
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        applied = []
        for migration in _pending(int(row[0] or 0), directory, target):
            script = migration.path.read_text(encoding="utf-8")
            # executescript commits first; wrap the whole file in our own transaction.
            conn.executescript(
                "BEGIN;\n"
                + script
                + f"\nINSERT INTO schema_migrations VALUES ({migration.version},"
                f" '{migration.name}', {time.time()});\nCOMMIT;"
            )
            applied.append(migration.version)
        return applied
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def _upgrade_postgresql(url: URL, directory: Path, target: int | None) -> list[int]:
    engine = open_sync(url)
    applied: list[int] = []
    try:
        with contextlib.closing(engine.raw_connection()) as raw:
            cursor: Any = raw.cursor()
            while True:
                # One migration per transaction, read and applied under the lock: a
                # process starting at the same time waits, then finds it applied.
                try:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                    cursor.execute(_TABLE.format(real="DOUBLE PRECISION"))
                    cursor.execute("SELECT MAX(version) FROM schema_migrations")
                    pending = _pending(int(cursor.fetchone()[0] or 0), directory, target)
                    if not pending:
                        raw.rollback()
                        return applied
                    migration = pending[0]
                    cursor.execute(migration.path.read_text(encoding="utf-8"))
                    cursor.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                        (migration.version, migration.name, time.time()),
                    )
                    raw.commit()
                except BaseException:
                    raw.rollback()
                    raise
                applied.append(migration.version)
    finally:
        engine.dispose()


def status(url: URL, directory: Path | None = None) -> tuple[int, list[Migration]]:
    """Current version and the migrations not yet applied."""
    directory = directory or directory_for(url)
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            if backend_of(url) == POSTGRESQL:
                exists = conn.exec_driver_sql("SELECT to_regclass('schema_migrations')").scalar()
            else:
                exists = conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE name = 'schema_migrations'"
                ).scalar()
            have = 0
            if exists:
                have = int(
                    conn.exec_driver_sql("SELECT MAX(version) FROM schema_migrations").scalar() or 0
                )
    finally:
        engine.dispose()
    return have, _pending(have, directory, None)
