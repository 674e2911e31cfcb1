"""Versioned schema migrations: ``migrations/NNNN_name.sql``, applied in order.

Each file runs in one transaction together with its row in ``schema_migrations``, so
a failed migration leaves the database at the previous version with its data intact.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
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


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )


def current_version(conn: sqlite3.Connection) -> int:
    _ensure_table(conn)
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def upgrade(
    db_path: Path, directory: Path = MIGRATIONS_DIR, target: int | None = None
) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all); return those applied."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        have = current_version(conn)
        applied = []
        for migration in available(directory):
            if migration.version <= have or (target is not None and migration.version > target):
                continue
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


def status(db_path: Path, directory: Path = MIGRATIONS_DIR) -> tuple[int, list[Migration]]:
    """Current version and the migrations not yet applied."""
    conn = sqlite3.connect(db_path)
    try:
        have = current_version(conn)
    finally:
        conn.close()
    return have, [m for m in available(directory) if m.version > have]
