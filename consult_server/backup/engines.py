"""The database's own consistent copy, and its restore, per engine.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies every page
  under one read transaction while the server goes on writing (WAL), then the copy's
  ``integrity_check``.
- PostgreSQL: ``pg_dump --format=custom`` (one snapshot of the whole database) and
  ``pg_restore`` into an empty database. The tools come from ``backup.pg_bin``, else
  ``PATH``, else the newest of Debian's ``/usr/lib/postgresql/*/bin``. The password
  goes to them in ``PGPASSWORD``, never on a command line others can read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import URL, text

from consult_server.store.engine import POSTGRESQL, backend_of, open_sync


class BackupError(RuntimeError):
    """A backup, check or restore that cannot go on; the message says why."""


def copy_sqlite(source: Path, target: Path) -> None:
    # Closed here, not when collected: settle_sqlite needs the copy to itself (a
    # connection left to the collector made it "database is locked" now and then).
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        verdict = dst.execute("PRAGMA integrity_check").fetchone()
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"the copied database fails its integrity check: {verdict}")
    os.chmod(target, 0o600)


def settle_sqlite(path: Path) -> None:
    """Fold the copy's write-ahead log into it and leave it one standalone file."""
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def check_sqlite(path: Path) -> str | None:
    """Why an SQLite copy is not sound (None: it is)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        return f"the database copy does not open ({exc})"
    return None if verdict and verdict[0] == "ok" else f"integrity check: {verdict}"


def pg_tool(name: str, configured: str = "") -> str:
    if configured:
        tool = Path(configured) / name
        if not tool.exists():
            raise BackupError(f"no {name} in backup.pg_bin ({configured})")
        return str(tool)
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise BackupError(
            f"{name} is needed for a PostgreSQL database: install postgresql-client"
            " or set backup.pg_bin"
        )
    return str(candidates[-1])


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    # The tool's own path and fixed options; the URI and paths are the operator's.
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        # Its last lines say why (a connection refused, a version too old).
        reason = " ".join(done.stderr.strip().splitlines()[-2:])[:400]
        raise BackupError(f"{what} failed: {reason}")


def dump_postgresql(url: URL, target: Path, pg_bin: str = "") -> None:
    uri, env = _libpq(url)
    args = [pg_tool("pg_dump", pg_bin), "--format=custom", "--no-owner", "--no-privileges"]
    _run([*args, "--file", str(target), "--dbname", uri], env, "pg_dump")
    os.chmod(target, 0o600)


def check_dump(path: Path, pg_bin: str = "") -> str | None:
    done = subprocess.run(  # noqa: S603 - the tool's path and the copy's file
        [pg_tool("pg_restore", pg_bin), "--list", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else "the database dump does not read back"


def restore_postgresql(url: URL, dump: Path, pg_bin: str = "") -> None:
    uri, env = _libpq(url)
    args = [pg_tool("pg_restore", pg_bin), "--no-owner", "--no-privileges", "--exit-on-error"]
    _run([*args, "--dbname", uri, str(dump)], env, "pg_restore")


def has_tables(url: URL) -> bool:
    """Whether the database holds any of our tables (or, for SQLite, exists at all)."""
    if backend_of(url) != POSTGRESQL:
        path = Path(url.database or "")
        return path.exists() and path.stat().st_size > 0
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            ).scalar()
        return bool(count)
    finally:
        engine.dispose()


def counts(url: URL) -> dict[str, int]:
    """What the restored or copied database holds, to compare with the manifest."""
    queries = {
        "consults": "SELECT count(*) FROM consults",
        "files": "SELECT count(*) FROM consult_files",
        "recordings": "SELECT count(*) FROM recordings WHERE status = 'complete'",
        "notes_signed": "SELECT count(*) FROM consult_notes WHERE signed_at IS NOT NULL",
        "audit_entries": "SELECT count(*) FROM audit_log",
    }
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(text(sql)).scalar() or 0) for name, sql in queries.items()
            }
    finally:
        engine.dispose()


def catalogued(url: URL) -> tuple[list[str], list[tuple[str, str]]]:
    """The attachment hashes, and each complete recording's (path, SHA-256)."""
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            files = [
                str(r[0]) for r in conn.execute(text("SELECT DISTINCT sha256 FROM consult_files"))
            ]
            recordings = [
                (str(r[0]), str(r[1]))
                for r in conn.execute(
                    text("SELECT path, sha256 FROM recordings WHERE status = 'complete'")
                )
            ]
        return files, recordings
    finally:
        engine.dispose()


def move_recordings(url: URL, old: str, new: str) -> int:
    """Recordings are catalogued by absolute path: point them at the new data directory."""
    if old == new:
        return 0
    engine = open_sync(url)
    try:
        with engine.begin() as conn:
            moved = conn.execute(
                text(
                    "UPDATE recordings SET path = :new || substr(path, :cut)"
                    " WHERE substr(path, 1, :length) = :old"
                ),
                {"new": new, "old": old, "cut": len(old) + 1, "length": len(old)},
            )
        return int(moved.rowcount or 0)
    finally:
        engine.dispose()
