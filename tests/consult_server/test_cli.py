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
    hours = db.execute(
        "SELECT a.weekday, a.start_minute, a.end_minute, a.slot_minutes, a.per_slot"
        " FROM availability a JOIN users u ON u.id = a.specialist_id"
        " WHERE u.username = 'specialist.demo' ORDER BY a.weekday"
    ).fetchall()
    assert hours == [(day, 450, 660, 30, 2) for day in range(5)], "demo twice: once each"
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


def test_facility_add_and_import_from_the_command_line(tmp_path: Path) -> None:
    """The operator's tools: a root and a facility under it; a CSV checked (a bad line
    names itself, nothing written), imported, and imported again (nothing changes)."""
    assert cli(tmp_path, "facility", "add", "tw", "Bệnh viện TW", "central").returncode == 0
    added = cli(tmp_path, "facility", "add", "tinh", "BV tỉnh", "provincial", "--parent", "tw")
    assert added.returncode == 0, added.stderr
    again = cli(tmp_path, "facility", "add", "tinh", "BV tỉnh", "provincial", "--parent", "tw")
    assert again.returncode == 2 and "exists" in again.stderr
    csv_path = tmp_path / "facilities.csv"
    csv_path.write_text(
        "code,name,level,parent_code,specialties\n"
        "huyen,TTYT huyện,district,tinh,\n"
        "xa,Trạm Y tế xã,commune,huyen-khong-co,\n"
    )
    bad = cli(tmp_path, "facility", "import", str(csv_path))
    assert bad.returncode == 1 and "line 3 xa: no facility with code huyen-khong-co" in bad.stderr
    db = sqlite3.connect(tmp_path / "data" / "consult.sqlite3")
    assert sorted(c for (c,) in db.execute("SELECT code FROM facilities")) == ["tinh", "tw"]
    csv_path.write_text(csv_path.read_text().replace("huyen-khong-co", "huyen"))
    dry = cli(tmp_path, "facility", "import", "--dry-run", str(csv_path))
    assert dry.returncode == 0 and "would import: 2 new" in dry.stdout
    done = cli(tmp_path, "facility", "import", str(csv_path))
    assert done.returncode == 0 and "imported: 2 new, 0 changed, 0 the same" in done.stdout
    same = cli(tmp_path, "facility", "import", str(csv_path))
    assert "imported: 0 new, 0 changed, 2 the same" in same.stdout
    parents = dict(
        db.execute(
            "SELECT f.code, p.code FROM facilities f LEFT JOIN facilities p ON p.id = f.parent_id"
        )
    )
    assert parents == {"tw": None, "tinh": "tw", "huyen": "tinh", "xa": "huyen"}
    actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["create", "create", "import", "import"]


def test_user_list_update_and_reset_from_the_command_line(tmp_path: Path) -> None:
    assert cli(tmp_path, "demo", "--password", "pw-12345678").returncode == 0
    listed = cli(tmp_path, "user", "list", "--facility", "demo-district").stdout.splitlines()
    assert listed == [
        "specialist.demo\tBS. Lê Minh Châu\tspecialist\tdemo-district\tactive\tinternal-medicine"
    ]
    moved = cli(
        tmp_path,
        "user",
        "update",
        "clinician2.demo",
        "--role",
        "specialist",
        "--facility",
        "demo-district",
        "--specialty",
        "cardiology",
        "--deactivate",
    )
    assert moved.returncode == 0, moved.stderr
    inactive = cli(tmp_path, "user", "list", "--inactive").stdout.splitlines()
    assert inactive == [
        "clinician2.demo\tYS. Trần Thị Bình\tspecialist\tdemo-district\tinactive\tcardiology"
    ]
    refused = cli(tmp_path, "user", "reset", "clinician2.demo")
    assert refused.returncode == 2 and "reactivate" in refused.stderr
    reset = cli(tmp_path, "user", "reset", "clinician.demo", "--base-url", "https://hc.example.vn/")
    assert reset.returncode == 0
    assert reset.stdout.startswith("https://hc.example.vn/password?token=")
    db = sqlite3.connect(tmp_path / "data" / "consult.sqlite3")
    links = db.execute("SELECT token_hash, used_at FROM password_links").fetchall()
    token = reset.stdout.strip().split("token=")[1]
    assert len(links) == 1 and links[0][1] is None and token not in links[0][0]
    # (The demo's history signed its notes before: those entries are about notes.)
    actions = db.execute("SELECT action FROM audit_log WHERE object LIKE 'user:%' ORDER BY id")
    assert [a for (a,) in actions] == ["update", "deactivate", "password_link"]
    unknown = cli(tmp_path, "user", "update", "nobody.demo", "--name", "X")
    assert unknown.returncode == 2 and "no account nobody.demo" in unknown.stderr
