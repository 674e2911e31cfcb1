"""The console script: demo is idempotent, create-user and db work, errors are clear."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from consult_server.store import migrate
from tests.support.server import SECRET


def cli(
    tmp: Path, *args: str, stdin: str = "", database_url: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        "CONSULT_DATA_DIR": str(tmp / "data"),
        "CONSULT_SECURITY_SECRET_KEY": SECRET,
        "CONSULT_CONFIG": "/dev/null",
        "PATH": "/usr/bin:/bin",
    }
    if database_url:
        env["CONSULT_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "consult_server", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_twice_then_create_user_and_db_status(tmp_path: Path) -> None:
    assert cli(tmp_path, "demo", "--password", "pw-12345678").returncode == 0
    assert cli(tmp_path, "demo", "--password", "pw-12345678").returncode == 0
    db = sqlite3.connect(tmp_path / "data" / "consult.sqlite3")
    users = dict(db.execute("SELECT username, role FROM users"))
    assert users == {
        "clinician.demo": "clinician",
        "clinician2.demo": "clinician",
        "specialist.demo": "specialist",
        "specialist.central": "specialist",
        "supervisor.demo": "supervisor",
        "admin.demo": "admin",
    }
    levels = dict(db.execute("SELECT code, level FROM facilities"))
    assert sorted(levels.values()) == ["central", "commune", "commune", "district", "provincial"]
    codes = {r[0] for r in db.execute("SELECT code FROM specialties")}
    assert {"internal-medicine", "cardiology", "pediatrics", "obstetrics", "radiology"} <= codes

    made = cli(
        tmp_path,
        "create-user",
        "dr.tam",
        "--role",
        "specialist",
        "--facility",
        "demo-provincial",
        "--specialty",
        "pediatrics",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert made.returncode == 0, made.stderr
    row = db.execute(
        "SELECT u.password_hash, s.specialty_code FROM users u"
        " JOIN user_specialties s ON s.user_id = u.id WHERE u.username = 'dr.tam'"
    ).fetchone()
    assert row[0].startswith("$argon2id$") and "a-long-password" not in row[0]
    assert row[1] == "pediatrics"

    again = cli(
        tmp_path,
        "create-user",
        "dr.tam",
        "--role",
        "clinician",
        "--facility",
        "demo-commune-1",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    nowhere = cli(
        tmp_path,
        "create-user",
        "x",
        "--role",
        "clinician",
        "--facility",
        "mars",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert nowhere.returncode == 2 and "no facility with code mars" in nowhere.stderr

    status = cli(tmp_path, "db", "status")
    latest = migrate.available(migrate.MIGRATIONS_DIR / "sqlite")[-1].version
    assert f"schema version {latest:04d}; pending: none" in status.stdout
