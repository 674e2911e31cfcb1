"""Migrations: applied in order, recorded, atomic, and safe on a database with data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from consult_server.store import migrate

SQLITE_STEPS = migrate.MIGRATIONS_DIR / "sqlite"


def _url(path: Path) -> URL:
    return URL.create("sqlite", database=str(path))


def test_real_migrations_apply_once(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    applied = migrate.upgrade(_url(db))
    assert applied == [m.version for m in migrate.available(SQLITE_STEPS)]
    assert migrate.upgrade(_url(db)) == []
    version, pending = migrate.status(_url(db))
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
    migrate.upgrade(_url(db), steps)
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()
    _write(steps, "0002_author.sql", "ALTER TABLE notes ADD COLUMN author TEXT DEFAULT 'x';")
    assert migrate.upgrade(_url(db), steps) == [2]
    rows = sqlite3.connect(db).execute("SELECT body, author FROM notes ORDER BY id").fetchall()
    assert rows == [("a", "x"), ("b", "x")]


def test_a_failing_migration_leaves_version_and_data_untouched(tmp_path: Path) -> None:
    steps = tmp_path / "m"
    steps.mkdir()
    db = tmp_path / "c.sqlite3"
    _write(steps, "0001_start.sql", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
    migrate.upgrade(_url(db), steps)
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
        migrate.upgrade(_url(db), steps)
    assert migrate.status(_url(db), steps)[0] == 1
    conn = sqlite3.connect(db)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(notes)")]
    assert columns == ["id", "body"], "the half-applied ALTER must be rolled back"
    assert conn.execute("SELECT body FROM notes").fetchall() == [("keep me",)]


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "add_things.sql", "")
    with pytest.raises(ValueError, match="NNNN_name"):
        migrate.available(tmp_path)


def test_upgrading_a_database_with_consults_keeps_them(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    assert migrate.upgrade(_url(db), target=1) == [1]
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
    assert migrate.upgrade(_url(db)) == [m.version for m in migrate.available(SQLITE_STEPS)][1:]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys=ON")
    assert conn.execute("SELECT summary, state FROM consults").fetchall() == [
        ("Đau ngực", "accepted")
    ]
    conn.execute("INSERT INTO consult_invites VALUES (5, 2, 1, 3.0)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO consult_invites VALUES (99, 2, 1, 3.0)")


def test_recording_sessions_migration_groups_existing_recordings(tmp_path: Path) -> None:
    """0005 on a database holding recordings: files of one session share one new row."""
    db = tmp_path / "c.sqlite3"
    migrate.upgrade(_url(db), target=4)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'f', 'F', 'commune');"
        "INSERT INTO specialties VALUES ('im', 'Nội', 'Internal');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 'a', 'A', 'x', 'clinician', 1, 0), (2, 'b', 'B', 'x',"
        " 'specialist', 1, 0);"
        "INSERT INTO consults (id, clinician_id, facility_id, specialty_code, urgency, summary,"
        " state, created_at, expires_at) VALUES (9, 1, 1, 'im', 'routine', 's', 'ended', 0, 1);"
        "INSERT INTO recordings (consult_id, user_id, role, path, started_at, ended_at, status)"
        " VALUES (9, 1, 'clinician', 'a1', 100.0, 160.0, 'complete'),"
        " (9, 2, 'specialist', 'b1', 100.0, 170.0, 'complete'),"
        " (9, 1, 'clinician', 'a2', 500.0, 530.0, 'interrupted');"
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(_url(db), target=5) == [5]
    conn = sqlite3.connect(db)
    sessions = conn.execute(
        "SELECT id, consult_id, started_at, ended_at FROM recording_sessions ORDER BY id"
    ).fetchall()
    assert [s[1:] for s in sessions] == [(9, 100.0, 170.0), (9, 500.0, 530.0)]
    files = conn.execute("SELECT path, session_id FROM recordings ORDER BY id").fetchall()
    assert files == [("a1", sessions[0][0]), ("b1", sessions[0][0]), ("a2", sessions[1][0])]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(
            "INSERT INTO audit_log VALUES (1, 0, NULL, 's', 'view', 'o', 'r', '{}', 'p', 'h')"
        )
        conn.execute("DELETE FROM audit_log")
    conn.close()


def test_target_order_migration_keeps_the_order_targets_were_reached(tmp_path: Path) -> None:
    """0006 on a database holding routed consults: the order SQLite kept in rowid
    becomes a column (PostgreSQL has no rowid)."""
    db = tmp_path / "c.sqlite3"
    migrate.upgrade(_url(db), target=5)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'c', 'C', 'central'),"
        " (2, 'p', 'P', 'provincial'), (3, 'd', 'D', 'district');"
        "INSERT INTO specialties VALUES ('im', 'Nội', 'Internal');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 'a', 'A', 'x', 'clinician', 3, 0);"
        "INSERT INTO consults (id, clinician_id, facility_id, specialty_code, urgency, summary,"
        " state, created_at, expires_at) VALUES (9, 1, 3, 'im', 'routine', 's', 'requested', 0, 1);"
        "INSERT INTO consult_targets VALUES (9, 2, 0), (9, 1, 0), (9, 3, 1);"
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(_url(db), target=6) == [6]
    rows = (
        sqlite3.connect(db)
        .execute("SELECT facility_id FROM consult_targets ORDER BY tier, position")
        .fetchall()
    )
    assert rows == [(2,), (1,), (3,)]


def test_every_version_after_the_postgresql_baseline_exists_for_both_engines() -> None:
    sqlite = {m.version: m.name for m in migrate.available(SQLITE_STEPS)}
    postgresql = {
        m.version: m.name for m in migrate.available(migrate.MIGRATIONS_DIR / "postgresql")
    }
    assert min(postgresql) == 5, "PostgreSQL starts from the whole schema at version 5"
    assert {v: n for v, n in sqlite.items() if v > 5} == {
        v: n for v, n in postgresql.items() if v > 5
    }


def test_facility_admin_migration_offers_what_facilities_staff(tmp_path: Path) -> None:
    """0011 on a database holding facilities and specialists: every facility records
    (as before), and offers the specialties its specialists have."""
    db = tmp_path / "c.sqlite3"
    migrate.upgrade(_url(db), target=10)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'c', 'C', 'central'),"
        " (2, 'd', 'D', 'district'), (3, 'x', 'X', 'commune');"
        "INSERT INTO specialties VALUES ('im', 'Nội', 'Internal'), ('card', 'Tim', 'Heart');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 's1', 'S1', 'h', 'specialist', 1, 0),"
        " (2, 's2', 'S2', 'h', 'specialist', 1, 0), (3, 's3', 'S3', 'h', 'specialist', 2, 0),"
        " (4, 'c', 'C', 'h', 'clinician', 3, 0);"
        "INSERT INTO user_specialties VALUES (1, 'im'), (2, 'im'), (2, 'card'), (3, 'im');"
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(_url(db), target=11) == [11]
    conn = sqlite3.connect(db)
    offered = conn.execute(
        "SELECT facility_id, specialty_code FROM facility_specialties ORDER BY 1, 2"
    ).fetchall()
    assert offered == [(1, "card"), (1, "im"), (2, "im")]
    assert conn.execute("SELECT id, records FROM facilities ORDER BY id").fetchall() == [
        (1, 1),
        (2, 1),
        (3, 1),
    ]
    assert conn.execute("SELECT COUNT(*) FROM users").fetchone() == (4,)


def test_screen_lock_migration_keeps_every_login_unlocked(tmp_path: Path) -> None:
    """0014 on a database holding logins: each stays, with its screen unlocked."""
    db = tmp_path / "c.sqlite3"
    migrate.upgrade(_url(db), target=13)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'c', 'C', 'central');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 's', 'S', 'h', 'specialist', 1, 0);"
        "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at)"
        " VALUES ('a', 1, 'x', 10, 20), ('b', 1, 'y', 11, 21);"
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(_url(db), target=14) == [14]
    rows = sqlite3.connect(db).execute(
        "SELECT token_hash, csrf_token, expires_at, locked_at FROM login_sessions ORDER BY 1"
    )
    assert rows.fetchall() == [("a", "x", 20.0, None), ("b", "y", 21.0, None)]


def test_teaching_questions_migration_keeps_sessions(tmp_path: Path) -> None:
    """0015 on a database holding teaching sessions: they stay, with no questions."""
    db = tmp_path / "c.sqlite3"
    migrate.upgrade(_url(db), target=14)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'c', 'C', 'central');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 's', 'S', 'h', 'specialist', 1, 0);"
        "INSERT INTO teaching_sessions (id, title, host_id, state, created_at)"
        " VALUES (1, 'Điện tim', 1, 'ended', 5);"
    )
    conn.commit()
    conn.close()
    assert migrate.upgrade(_url(db), target=15) == [15]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT title, state FROM teaching_sessions").fetchall() == [
        ("Điện tim", "ended")
    ]
    assert conn.execute("SELECT COUNT(*) FROM teaching_questions").fetchone() == (0,)
