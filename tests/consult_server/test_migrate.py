"""Migrations: applied in order, recorded, atomic, and safe on a database with data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from consult_server import migrate


def test_real_migrations_apply_once(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    applied = migrate.upgrade(db)
    assert applied == [m.version for m in migrate.available()]
    assert migrate.upgrade(db) == []
    version, pending = migrate.status(db)
    assert version == applied[-1] and pending == []
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert {"users", "facilities", "consults", "consult_participants"} <= tables


def _write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql)


def test_a_later_migration_keeps_existing_rows(tmp_path: Path) -> None:
    steps = tmp_path / "m"
    steps.mkdir()
    db = tmp_path / "c.sqlite3"
    _write(steps, "0001_start.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
    migrate.upgrade(db, steps)
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()
    _write(steps, "0002_author.sql", "ALTER TABLE notes ADD COLUMN author TEXT DEFAULT 'x';")
    assert migrate.upgrade(db, steps) == [2]
    rows = sqlite3.connect(db).execute("SELECT body, author FROM notes ORDER BY id").fetchall()
    assert rows == [("a", "x"), ("b", "x")]


def test_a_failing_migration_leaves_version_and_data_untouched(tmp_path: Path) -> None:
    steps = tmp_path / "m"
    steps.mkdir()
    db = tmp_path / "c.sqlite3"
    _write(steps, "0001_start.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
    migrate.upgrade(db, steps)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.commit()
    conn.close()
    _write(
        steps,
        "0002_broken.sql",
        "ALTER TABLE notes ADD COLUMN author TEXT;\nINSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(sqlite3.OperationalError):
        migrate.upgrade(db, steps)
    conn = sqlite3.connect(db)
    assert migrate.current_version(conn) == 1
    columns = [r[1] for r in conn.execute("PRAGMA table_info(notes)")]
    assert columns == ["id", "body"], "the half-applied ALTER must be rolled back"
    assert conn.execute("SELECT body FROM notes").fetchall() == [("keep me",)]


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "add_things.sql", "")
    with pytest.raises(ValueError, match="NNNN_name"):
        migrate.available(tmp_path)


def test_upgrading_a_database_with_consults_keeps_them(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    assert migrate.upgrade(db, target=1) == [1]
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        INSERT INTO facilities VALUES (1, 'c', 'Central', 'central', NULL);
        INSERT INTO facilities VALUES (2, 'x', 'Commune', 'commune', 1);
        INSERT INTO specialties VALUES ('cardiology', 'Tim mạch', 'Cardiology');
        INSERT INTO users VALUES (1, 'a', 'A', 'h', 'clinician', 2, NULL, 1, 0);
        INSERT INTO users VALUES (2, 'b', 'B', 'h', 'specialist', 1, NULL, 1, 0);
        INSERT INTO consults (id, clinician_id, facility_id, specialty_code, urgency, summary,
            state, created_at, expires_at, accepted_by)
            VALUES (5, 1, 2, 'cardiology', 'urgent', 'Đau ngực', 'accepted', 1, 2, 2);
        """
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(db) == [m.version for m in migrate.available()][1:]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys=ON")
    assert conn.execute("SELECT summary, state FROM consults").fetchall() == [
        ("Đau ngực", "accepted")
    ]
    conn.execute("INSERT INTO consult_invites VALUES (5, 2, 1, 3.0)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO consult_invites VALUES (99, 2, 1, 3.0)")
