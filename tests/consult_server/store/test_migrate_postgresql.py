"""Migrations on a real PostgreSQL holding data: applied once, data kept, a failing step
rolled back whole (PostgreSQL's DDL is transactional)."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from consult_server.store import migrate
from consult_server.store.engine import open_sync, parse
from tests.support.postgres import PostgresServer

STEPS = migrate.MIGRATIONS_DIR / "postgresql"


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = open_sync(parse(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _seed(server: PostgresServer, database: str) -> None:
    server.psql(
        "INSERT INTO facilities (id, code, name, level) VALUES (1, 'd', 'D', 'district'),"
        " (2, 'x', 'X', 'commune');"
        "INSERT INTO specialties VALUES ('im', 'Nội', 'Internal');"
        "INSERT INTO users (id, username, display_name, password_hash, role, facility_id,"
        " created_at) VALUES (1, 'a', 'A', 'h', 'clinician', 2, 0),"
        " (2, 's', 'S', 'h', 'specialist', 1, 0);"
        "INSERT INTO user_specialties VALUES (2, 'im');"
        "INSERT INTO consults (id, clinician_id, facility_id, specialty_code, urgency, summary,"
        " state, created_at, expires_at) VALUES (9, 1, 2, 'im', 'routine', 'Đau ngực',"
        " 'requested', 0, 1);"
        "INSERT INTO consult_targets VALUES (9, 1, 0)",
        database,
    )


def test_upgrading_a_postgresql_database_with_consults_keeps_them(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    assert migrate.upgrade(parse(url), target=5) == [5]
    _seed(postgres, url.rsplit("/", 1)[1])
    assert migrate.upgrade(parse(url)) == [m.version for m in migrate.available(STEPS)][1:]
    assert migrate.upgrade(parse(url)) == []
    assert _rows(url, "SELECT summary, state FROM consults") == [("Đau ngực", "requested")]
    assert _rows(url, "SELECT consult_id, facility_id, position FROM consult_targets") == [
        (9, 1, 0)
    ]
    # 0011: the district staffs internal medicine, so it offers it; both still record.
    assert _rows(url, "SELECT facility_id, specialty_code FROM facility_specialties") == [(1, "im")]
    assert _rows(url, "SELECT id, records FROM facilities ORDER BY id") == [(1, 1), (2, 1)]
    version, pending = migrate.status(parse(url))
    assert version == migrate.available(STEPS)[-1].version and pending == []


def test_a_failing_postgresql_migration_leaves_version_and_data_untouched(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    shutil.copy(STEPS / "0005_schema.sql", steps)
    url = postgres.new_database()
    migrate.upgrade(parse(url), steps)
    _seed(postgres, url.rsplit("/", 1)[1])
    (steps / "0006_broken.sql").write_text(
        "ALTER TABLE consults ADD COLUMN note TEXT;\nINSERT INTO no_such_table VALUES (1);"
    )
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate.upgrade(parse(url), steps)
    assert migrate.status(parse(url), steps)[0] == 5
    columns = _rows(
        url,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'consults' AND column_name = 'note'",
    )
    assert columns == [], "the half-applied ALTER must be rolled back"
    assert _rows(url, "SELECT summary FROM consults") == [("Đau ngực",)]
