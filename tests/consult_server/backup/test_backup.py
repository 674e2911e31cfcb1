"""A backup taken with the command line during a recorded call, with an attached file
and a signed note, verified, then restored into a fresh data directory (and, on
PostgreSQL, a fresh database): the same consults, files, note signature and audit chain,
served by a server on the restored data. One changed byte fails the check; a restore
onto data refuses."""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from consult_server.audit.chain import AUDIT
from consult_server.backup.schedule import STAMP, run_schedule
from consult_server.backup.verify import verify_backup
from consult_server.cluster.nodes import SocketRoute
from consult_server.cluster.registry import REGISTRY, RedisRegistry
from consult_server.config import CONFIG
from consult_server.store.db import DB
from tests.consult_server.attachments.test_views import fetch, send
from tests.consult_server.notes.test_notes import NOTE
from tests.recordings.test_room_recording import recorded_pair
from tests.support import sample_files
from tests.support.consult_requests import request_body
from tests.support.inproc import Harness, running_app
from tests.support.postgres import PostgresServer
from tests.support.redis_server import redis_server
from tests.support.server import server_env

PASSPHRASE = "mật khẩu sao lưu đủ dài"


def json_name(row: Any) -> str:
    """The backup directory an audit entry names."""
    return str(row["object"]).removeprefix("backup:")


def cli(data_dir: Path, database: dict[str, Any], *args: str, **env: str) -> tuple[int, str]:
    extra = {"CONSULT_DATABASE_URL": database["database.url"]} if database else {}
    done = subprocess.run(
        [sys.executable, "-m", "consult_server", *args],
        env=server_env(data_dir, {**extra, **env}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


async def snapshot(harness: Harness) -> dict[str, Any]:
    db = harness.app[DB]
    return {
        "consults": [
            dict(r) for r in await db.fetch_all("SELECT id, summary FROM consults ORDER BY id")
        ],
        "files": [
            dict(r) for r in await db.fetch_all("SELECT id, sha256 FROM consult_files ORDER BY id")
        ],
        "notes": [
            dict(r)
            for r in await db.fetch_all(
                "SELECT consult_id, version, sha256 FROM consult_notes"
                " WHERE signed_at IS NOT NULL ORDER BY consult_id, version"
            )
        ],
        "audit": [
            dict(r) for r in await db.fetch_all("SELECT id, hash FROM audit_log ORDER BY id")
        ],
    }


@pytest.mark.slow  # a recorded call, three commands and a second server, on both engines
async def test_a_backup_during_a_recorded_call_restores_whole(
    tmp_path: Path, database: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    backup = tmp_path / "backup"
    async with running_app(tmp_path / "live", **database) as harness:
        specialist, consult_id, a, b = await recorded_pair(harness)
        uploader = next(c for c in harness.clients if c.username == "clinician.demo")
        dicom = sample_files.ct_dicom(instance=2)
        status, body = await send(uploader, consult_id, dicom)
        assert status == 201, body
        file_id = body["file"]["id"]
        base = f"/api/consults/{consult_id}/note"
        await specialist.api("PUT", f"{base}/draft", NOTE)
        status, body = await specialist.api("POST", f"{base}/sign", {"version": 1})
        assert status == 200, body
        await asyncio.sleep(1.5)  # the recording grows on disk

        live = tmp_path / "live" / "data"
        code, out = await asyncio.to_thread(cli, live, database, "backup", str(backup))
        assert code == 0, out
        before = await snapshot(harness)
        await b.leave()
        await a.leave()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["engine"] == ("postgresql" if database else "sqlite")
    head_id = int(manifest["audit_head"].split(":")[0])
    recordings = [n for n in manifest["files"] if n.startswith("data/recordings/")]
    assert len(recordings) == 2, "both participants' recordings, as far as they got"
    stored = f"data/files/sha256/{hashlib.sha256(dicom).hexdigest()[:2]}"
    assert any(n.startswith(stored) for n in manifest["files"])
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in backup.rglob("*") if p.is_file())

    code, out = cli(live, database, "backup", "verify", str(backup))
    assert code == 0 and "backup intact" in out, out

    # One changed byte in a copy of it: found, named.
    broken = tmp_path / "broken"
    shutil.copytree(backup, broken)
    victim = broken / recordings[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    code, out = cli(live, database, "backup", "verify", str(broken))
    assert code == 1 and recordings[0] in out and "BROKEN" in out, out

    # Restored into a fresh data directory (and a fresh database).
    fresh: dict[str, Any] = {}
    if database:
        server: PostgresServer = request.getfixturevalue("postgres")
        fresh = {"database.url": server.new_database()}
    restored_dir = tmp_path / "restored"
    code, out = cli(restored_dir / "data", fresh, "restore", str(broken))
    assert code == 2 and "does not verify" in out, out
    code, out = cli(restored_dir / "data", fresh, "restore", str(backup))
    assert code == 0, out
    code, out = cli(restored_dir / "data", fresh, "audit", "verify")
    assert code == 0 and "intact" in out, out
    # Onto data already there: refused, nothing touched.
    code, out = cli(restored_dir / "data", fresh, "restore", str(backup))
    assert code == 2 and "not empty" in out, out

    async with running_app(restored_dir, **fresh) as restored:
        after = await snapshot(restored)
        assert after["consults"] == before["consults"]
        assert after["files"] == before["files"]
        assert after["notes"] == before["notes"] and after["notes"]
        # The chain as it was up to the backup's head, then the restore's own entry.
        assert after["audit"][:head_id] == before["audit"][:head_id]
        assert after["audit"][-1]["id"] == len(after["audit"])
        paths = await restored.app[DB].fetch_all("SELECT path FROM recordings")
        assert paths and all(str(r["path"]).startswith(str(restored_dir)) for r in paths)
        assert all(Path(str(r["path"])).exists() for r in paths)

        # The restored server serves the consult, its file and its signed note.
        specialist = await restored.login("specialist.demo")
        status, page, _ = await fetch(specialist, f"/consults/{consult_id}")
        assert status == 200 and "Ho kéo dài" in page.decode()
        status, content, _ = await fetch(specialist, f"/files/{file_id}")
        assert status == 200 and content == dicom
        status, body = await specialist.api("GET", f"/api/consults/{consult_id}/note")
        assert status == 200
        assert [(v["signed"], v["intact"]) for v in body["versions"]] == [(True, True)]


async def test_a_sealed_backup_opens_only_with_its_passphrase(
    tmp_path: Path, harness: Harness, database: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    live = tmp_path / "data"  # the harness's
    clinician = await harness.login("clinician.demo")
    status, _ = await clinician.api("POST", "/api/consults", request_body("Sốt cao"))
    assert status == 201
    backup = tmp_path / "sealed"
    code, out = await asyncio.to_thread(
        cli, live, database, "backup", str(backup), CONSULT_BACKUP_PASSPHRASE=PASSPHRASE
    )
    assert code == 0 and "sealed" in out, out
    database_copy = backup / ("database.pgdump" if database else "database.sqlite3")
    assert not database_copy.read_bytes().startswith(b"SQLite format 3")
    code, out = cli(live, database, "backup", "verify", str(backup))
    assert code == 0 and "set backup.passphrase" in out, out
    code, out = cli(
        live, database, "backup", "verify", str(backup), CONSULT_BACKUP_PASSPHRASE=PASSPHRASE
    )
    assert code == 0 and "backup intact:" in out, out
    wrong = "another passphrase long enough"
    code, out = cli(
        live, database, "backup", "verify", str(backup), CONSULT_BACKUP_PASSPHRASE=wrong
    )
    assert code == 1, out
    code, out = cli(
        live, database, "backup", "verify", str(backup), CONSULT_BACKUP_PASSPHRASE="short"
    )
    assert code == 2 and "backup.passphrase" in out, out
    fresh: dict[str, Any] = {}
    if database:
        server: PostgresServer = request.getfixturevalue("postgres")
        fresh = {"database.url": server.new_database()}
    target = tmp_path / "restored"
    code, out = cli(target, fresh, "restore", str(backup))
    assert code == 2 and "sealed" in out, out
    code, out = cli(target, fresh, "restore", str(backup), CONSULT_BACKUP_PASSPHRASE=PASSPHRASE)
    assert code == 0 and "consults 1," in out, out


async def test_the_server_takes_its_own_backups_and_keeps_the_newest(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    directory = tmp_path / "backups"
    settings: dict[str, Any] = {
        "backup.dir": str(directory),
        "backup.every_hours": 0.0005,
        "backup.keep": 2,
    }
    async with running_app(tmp_path, **database, **settings) as harness:

        async def entries() -> list[Any]:
            rows = await harness.app[DB].fetch_all(
                "SELECT object, detail FROM audit_log WHERE action = 'backup' ORDER BY id"
            )
            return [(r["object"], json.loads(r["detail"])) for r in rows]

        for _ in range(300):
            if len(await entries()) >= 3:
                break
            await asyncio.sleep(0.05)
        made = await entries()
        assert len(made) >= 3, made
        kept = sorted(p.name for p in directory.iterdir())
        assert len(kept) == 2 and [f"backup:{name}" for name in kept] == [m[0] for m in made[-2:]]
        assert made[2][1]["pruned"] == [made[0][0].removeprefix("backup:")]
        for name in kept:
            report = await asyncio.to_thread(verify_backup, directory / name)
            assert report.ok, report.problems


@pytest.mark.redis
async def test_several_nodes_take_each_scheduled_backup_once(tmp_path: Path) -> None:
    """Two nodes of a cluster (this app and another schedule on the same Redis, database
    and backup directory): each turn is claimed once, so backups come one per turn, not
    one per node."""
    directory = tmp_path / "backups"
    every_hours = 0.0005  # 1.8 s
    with redis_server(tmp_path) as url:
        settings: dict[str, Any] = {
            "backup.dir": str(directory),
            "backup.every_hours": every_hours,
            "backup.keep": 10,
            "redis.url": url,
        }
        async with running_app(tmp_path, **settings) as harness:
            client = aioredis.from_url(url)
            other = RedisRegistry(client, "other-node", SocketRoute(), lambda: 0)
            rival = asyncio.create_task(
                run_schedule(harness.app[CONFIG], harness.app[AUDIT], other)
            )
            try:
                rows: list[Any] = []
                for _ in range(300):
                    rows = await harness.app[DB].fetch_all(
                        "SELECT at, object, detail FROM audit_log WHERE action = 'backup'"
                        " ORDER BY id"
                    )
                    if len(rows) >= 4:
                        break
                    await asyncio.sleep(0.05)
            finally:
                rival.cancel()
                await asyncio.gather(rival, return_exceptions=True)
                await client.aclose()
        assert len(rows) >= 4, rows
        # No two at once: each starts (its name, to the second) after the one before
        # it was finished (its audit entry).
        starts = [
            calendar.timegm(time.strptime(json_name(r).removeprefix("backup-"), STAMP))
            for r in rows
        ]
        finishes = [float(r["at"]) for r in rows]
        for start, finished_before in zip(starts[1:], finishes, strict=False):
            assert start >= int(finished_before) - 1, (starts, finishes)
        assert len(list(directory.iterdir())) == len(rows)
        nodes = {json.loads(r["detail"])["node"] for r in rows}
        assert nodes <= {harness.app[REGISTRY].node_id, "other-node"}, nodes
