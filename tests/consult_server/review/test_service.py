"""Recording review: the authorization matrix (every role x own / other facility
subtree) of the list, the session page, the file handler and the audit log; filters and
paging; hash checks with a tampered file; range requests."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Level, Role
from consult_server.store.db import DB
from tests.support.inproc import Client, Harness, demo_password_hash, running_app
from tests.support.recorded import Seeded, insert_consult, seed_session
from tests.support.server import DEMO_PASSWORD


@dataclass
class World:
    harness: Harness
    #: A: filed at demo commune 1 (under supervisor.demo's province), with specialist.demo.
    own: Seeded
    #: B: filed in another province, with that province's specialist.
    other: Seeded
    users: dict[str, int]


async def build_world(harness: Harness, tmp: Path) -> World:
    app = harness.app
    accounts = app[ACCOUNTS]
    db = app[DB]
    facilities = {f.code: f.id for f in await accounts.facilities()}
    province = await accounts.add_facility(
        "other-provincial", "Bệnh viện tỉnh Khác", Level.PROVINCIAL, facilities["demo-central"]
    )
    commune = await accounts.add_facility(
        "other-commune", "Trạm Y tế Khác", Level.COMMUNE, province
    )
    for username, role, facility, specialties in (
        ("supervisor.other", Role.SUPERVISOR, province, frozenset[str]()),
        ("clinician.other", Role.CLINICIAN, commune, frozenset[str]()),
        ("specialist.other", Role.SPECIALIST, province, frozenset({"internal-medicine"})),
        ("supervisor.central", Role.SUPERVISOR, facilities["demo-central"], frozenset[str]()),
    ):
        await accounts.create_user(
            username,
            DEMO_PASSWORD,
            role,
            facility,
            username,
            specialties,
            password_hash=demo_password_hash(),
        )
    users = {}
    for name in (
        "clinician.demo",
        "clinician2.demo",
        "specialist.demo",
        "supervisor.demo",
        "admin.demo",
        "supervisor.other",
        "clinician.other",
        "specialist.other",
        "supervisor.central",
    ):
        row = await db.fetch_one("SELECT id FROM users WHERE username = ?", (name,))
        assert row is not None
        users[name] = row["id"]
    directory = tmp / "recordings"
    consult_a = await insert_consult(db, users["clinician.demo"], facilities["demo-commune-1"])
    own = await seed_session(
        db,
        directory,
        consult_a,
        [(users["clinician.demo"], "clinician"), (users["specialist.demo"], "specialist")],
    )
    consult_b = await insert_consult(db, users["clinician.other"], commune)
    other = await seed_session(
        db,
        directory,
        consult_b,
        [(users["clinician.other"], "clinician"), (users["specialist.other"], "specialist")],
    )
    return World(harness, own, other, users)


@pytest.fixture
async def world(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[World]:
    async with running_app(tmp_path, ticker=False, **database) as harness:
        yield await build_world(harness, tmp_path)


@pytest.fixture
async def open_world(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[World]:
    """Participants may watch their own consults' recordings."""
    async with running_app(
        tmp_path, ticker=False, **{"recordings.participants_may_view": True}, **database
    ) as harness:
        yield await build_world(harness, tmp_path)


async def access(client: Client, seeded: Seeded) -> tuple[bool, bool, bool, bool]:
    """(listed, page opens, file served, audit log shown) for one user and session."""
    listing = await client.get("/review")
    listed = listing.status == 200 and f'data-session="{seeded.session_id}"' in (
        await listing.text()
    )
    page = await client.get(f"/review/sessions/{seeded.session_id}")
    text = await page.text()
    served = await client.get(f"/recordings/{seeded.recording_ids[0]}/file")
    body = await served.read()
    if served.status == 200:
        assert body == seeded.paths[0].read_bytes(), "the handler serves the file's bytes"
    return listed, page.status == 200, served.status == 200, 'data-testid="audit-log"' in text


def expected(matrix: dict[str, tuple[bool, bool]], user: str) -> tuple[tuple[bool, ...], ...]:
    own, other = matrix[user]
    audit = user.startswith("supervisor")
    return (own, own, own, own and audit), (other, other, other, other and audit)


async def check_matrix(world: World, matrix: dict[str, tuple[bool, bool]]) -> None:
    found, wanted = {}, {}
    for user in matrix:
        client = await world.harness.login(user)
        found[user] = (await access(client, world.own), await access(client, world.other))
        wanted[user] = expected(matrix, user)
    assert found == wanted


async def test_authorization_matrix_by_default(world: World) -> None:
    # (own-subtree session A, other session B) per user. Admins and participants: none.
    await check_matrix(
        world,
        {
            "supervisor.demo": (True, False),
            "supervisor.other": (False, True),
            "supervisor.central": (True, True),
            "clinician.demo": (False, False),
            "specialist.demo": (False, False),
            "clinician2.demo": (False, False),
            "clinician.other": (False, False),
            "admin.demo": (False, False),
        },
    )
    # Every refusal of a specific recording or session is in the audit log.
    db = world.harness.app[DB]
    refused = await db.fetch_all(
        "SELECT actor, object, detail"
        " FROM audit_log WHERE object <> 'login' AND action = 'refuse' ORDER BY id"
    )
    by_actor = {(r["actor"], r["object"]) for r in refused}
    assert ("admin.demo", f"recording:{world.own.recording_ids[0]}") in by_actor
    assert ("supervisor.demo", f"recording_session:{world.other.session_id}") in by_actor
    assert all('"reason":"not_in_scope"' in r["detail"] for r in refused)


async def test_authorization_matrix_when_participants_may_view(open_world: World) -> None:
    await check_matrix(
        open_world,
        {
            "supervisor.demo": (True, False),
            "clinician.demo": (True, False),
            "specialist.demo": (True, False),
            "clinician.other": (False, True),
            "specialist.other": (False, True),
            "clinician2.demo": (False, False),
            "admin.demo": (False, False),
        },
    )


async def test_views_plays_and_downloads_are_audited_with_who_and_where(world: World) -> None:
    client = await world.harness.login("supervisor.demo")
    session, recording = world.own.session_id, world.own.recording_ids[1]
    assert (await client.get(f"/review/sessions/{session}")).status == 200
    whole = await client.get(f"/recordings/{recording}/file")
    assert whole.status == 200 and whole.headers["Content-Type"] == "video/webm"
    # Seeking: a range request gets 206 with exactly those bytes, and is not logged again.
    data = world.own.paths[1].read_bytes()
    part = await client.get(f"/recordings/{recording}/file", headers={"Range": "bytes=100-599"})
    assert part.status == 206 and await part.read() == data[100:600]
    assert part.headers["Content-Range"] == f"bytes 100-599/{len(data)}"
    download = await client.get(f"/recordings/{recording}/file?download=1")
    assert download.status == 200 and await download.read() == data
    assert "attachment" in download.headers["Content-Disposition"]
    rows = await world.harness.app[DB].fetch_all(
        "SELECT actor_id, actor, action, object, remote"
        " FROM audit_log WHERE object <> 'login' ORDER BY id"
    )
    consult = await world.harness.app[DB].fetch_one(
        "SELECT consult_id FROM recording_sessions WHERE id = ?", (session,)
    )
    assert consult is not None
    assert [(r["action"], r["object"]) for r in rows] == [
        ("view", f"recording_session:{session}"),
        # The page also lists the consult's files: a supervisor reading its record.
        ("view", f"consult:{consult['consult_id']}"),
        # The whole file without a Range: a copy taken, not a player's request.
        ("download", f"recording:{recording}"),
        ("play", f"recording:{recording}"),
        ("download", f"recording:{recording}"),
    ]
    assert {r["actor"] for r in rows} == {"supervisor.demo"}
    assert {r["actor_id"] for r in rows} == {world.users["supervisor.demo"]}
    assert {r["remote"] for r in rows} == {"127.0.0.1"}
    # The session page lists those entries for the supervisor.
    page = await (await client.get(f"/review/sessions/{session}")).text()
    table = page[page.index('data-testid="audit-log"') :]
    assert table.count('data-action="play"') == 1 and table.count('data-action="download"') == 2


async def test_a_tampered_file_is_refused_marked_damaged_and_audited(world: World) -> None:
    client = await world.harness.login("supervisor.demo")
    recording, path = world.own.recording_ids[0], world.own.paths[0]
    assert (await client.get(f"/recordings/{recording}/file")).status == 200
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the old mtime back
    refused = await client.get(
        f"/recordings/{recording}/file", headers={"Accept": "application/json"}
    )
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "recording_damaged"
    db = world.harness.app[DB]
    status = await db.fetch_one("SELECT status FROM recordings WHERE id = ?", (recording,))
    assert status is not None and status["status"] == "damaged"
    last = await db.fetch_one(
        "SELECT action, object, detail FROM audit_log WHERE object <> 'login' ORDER BY id DESC"
    )
    assert last is not None
    assert (last["action"], last["object"]) == ("refuse", f"recording:{recording}")
    assert '"reason":"hash_mismatch"' in last["detail"]
    page = await (await client.get(f"/review/sessions/{world.own.session_id}")).text()
    assert 'data-testid="recording-status">' in page and 'data-state="damaged"' in page
    # The other participant's file is untouched and still plays.
    other = await client.get(f"/recordings/{world.own.recording_ids[1]}/file")
    assert other.status == 200
    assert (
        hashlib.sha256(await other.read()).hexdigest()
        == hashlib.sha256(world.own.paths[1].read_bytes()).hexdigest()
    )


async def test_list_filters_and_paging(world: World) -> None:
    db = world.harness.app[DB]
    users = world.users
    directory = Path(str(world.own.paths[0])).parents[2]
    facilities = {f.code: f.id for f in await world.harness.app[ACCOUNTS].facilities()}
    day = 86400.0
    # 23 more sessions in demo commune 2 (cardiology, 10 days ago, 4 minutes, interrupted)
    # and one long one in commune 1.
    consult = await insert_consult(
        db, users["clinician2.demo"], facilities["demo-commune-2"], "cardiology"
    )
    old = time.time() - 10 * day
    for index in range(23):
        await seed_session(
            db,
            directory,
            consult,
            [(users["clinician2.demo"], "clinician")],
            started_at=old + index,
            seconds=0.5,
            status="interrupted",
        )
    long_consult = await insert_consult(db, users["clinician.demo"], facilities["demo-commune-1"])
    long = await seed_session(
        db, directory, long_consult, [(users["clinician.demo"], "clinician")], seconds=1.0
    )
    await db.execute(
        "UPDATE recording_sessions SET ended_at = started_at + 600 WHERE id = ?",
        (long.session_id,),
    )
    client = await world.harness.login("supervisor.demo")

    async def sessions(query: str) -> tuple[list[int], str]:
        response = await client.get("/review?" + query)
        assert response.status == 200, await response.text()
        text = await response.text()
        return [int(n) for n in re.findall(r'data-session="(\d+)"', text)], text

    everything, text = await sessions("")
    assert len(everything) == 20 and "25" in text  # 2 + 23 + 1 - B (other province) = 25
    second, _ = await sessions("page=2")
    assert len(second) == 5 and not set(second) & set(everything)
    cardiology, _ = await sessions("specialty=cardiology&page=2")
    assert len(cardiology) == 3
    interrupted, _ = await sessions("status=interrupted")
    assert len(interrupted) == 20
    long_only, _ = await sessions("min_minutes=5")
    assert long_only == [long.session_id]
    commune1, _ = await sessions(f"facility={facilities['demo-commune-1']}")
    assert sorted(commune1) == sorted([world.own.session_id, long.session_id])
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
    recent, _ = await sessions(f"from={today}")
    assert sorted(recent) == sorted([world.own.session_id, long.session_id])
    ten_days = time.strftime("%Y-%m-%d", time.gmtime(old + 7 * 3600))
    past, _ = await sessions(f"from={ten_days}&to={ten_days}")
    assert len(past) == 20
    bad = await client.get("/review?from=yesterday", headers={"Accept": "application/json"})
    assert bad.status == 400
    assert (await bad.json())["error"]["code"] == "bad_filter"


async def test_session_page_shows_players_timeline_and_downloads(world: World) -> None:
    db = world.harness.app[DB]
    started = await db.fetch_one(
        "SELECT consult_id, started_at FROM recording_sessions WHERE id = ?",
        (world.own.session_id,),
    )
    assert started is not None
    consult, at = started["consult_id"], started["started_at"]
    for offset, kind, user in (
        (0.2, "room_join", "clinician.demo"),
        (0.3, "room_join", "specialist.demo"),
        (0.5, "recording_start", None),
        (1.2, "room_audio_off", "clinician.demo"),
        (1.9, "recording_stop", None),
    ):
        await db.execute(
            "INSERT INTO consult_events (consult_id, at, kind, actor_id) VALUES (?, ?, ?, ?)",
            (consult, at + offset, kind, world.users[user] if user else None),
        )
    await db.execute(
        "UPDATE recordings SET frames_dropped = 42 WHERE id = ?", (world.own.recording_ids[1],)
    )
    client = await world.harness.login("supervisor.demo")
    page = await (await client.get(f"/review/sessions/{world.own.session_id}")).text()
    assert page.count('data-testid="recording-player"') == 2
    assert page.count('data-testid="recording-dropped"') == 1 and "42" in page
    assert page.count('data-testid="recording-download"') == 2
    assert 'data-testid="play-all"' in page
    kinds = re.findall(r'<li data-kind="([a-z_]+)">', page)
    assert kinds == [
        "room_join",
        "room_join",
        "recording_start",
        "room_audio_off",
        "recording_stop",
    ]
    assert 'data-seek="1.2' in page


async def test_a_deleted_recording_is_gone_and_refusal_audited(world: World) -> None:
    db = world.harness.app[DB]
    recording = world.own.recording_ids[0]
    await db.execute("UPDATE recordings SET status = 'deleted' WHERE id = ?", (recording,))
    client = await world.harness.login("supervisor.demo")
    response = await client.get(f"/recordings/{recording}/file")
    assert response.status == 410
    last = await db.fetch_one(
        "SELECT action, detail FROM audit_log WHERE object <> 'login' ORDER BY id DESC"
    )
    assert last is not None and last["action"] == "refuse" and "deleted" in last["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=-99999999999"},
        {"Range": "bytes=1-"},
        {"Range": "bytes=1-", "If-Range": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"Range": "bytes=nonsense"},
    ],
    ids=["suffix", "from-byte-1", "stale-if-range", "malformed"],
)
async def test_no_request_shape_escapes_the_play_entry(
    world: World, headers: dict[str, str]
) -> None:
    client = await world.harness.login("supervisor.demo")
    recording = world.own.recording_ids[0]
    response = await client.get(f"/recordings/{recording}/file", headers=headers)
    await response.read()
    assert response.status in (200, 206, 416)
    rows = await world.harness.app[DB].fetch_all(
        "SELECT action, object FROM audit_log WHERE object <> 'login' AND actor = 'supervisor.demo'"
    )
    assert [(r["action"], r["object"]) for r in rows] == [("play", f"recording:{recording}")]


async def test_a_head_request_is_audited_as_a_look_at_the_file(world: World) -> None:
    """Before: HEAD was not audited at all."""
    client = await world.harness.login("supervisor.demo")
    recording = world.own.recording_ids[0]
    async with client.session.head(client.base + f"/recordings/{recording}/file") as response:
        assert response.status == 200
    rows = await world.harness.app[DB].fetch_all(
        "SELECT action, object FROM audit_log WHERE object <> 'login' AND actor = 'supervisor.demo'"
    )
    assert [(r["action"], r["object"]) for r in rows] == [("play", f"recording:{recording}")]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/review?to=9999-12-31", 400),
        ("/review?from=0001-01-01&to=0001-01-01", 200),
        ("/review?page=%C2%B2", 400),
        ("/review?page=" + "1" * 5000, 400),
        ("/review?min_minutes=-1", 400),
        ("/review?status=lost", 400),
        ("/review/sessions/99999999999999999999", 404),
        ("/recordings/99999999999999999999/file", 404),
        ("/review/sessions/424242", 403),
        ("/recordings/424242/file", 403),
    ],
)
async def test_bad_input_gets_a_clear_answer_not_a_crash(
    world: World, path: str, status: int
) -> None:
    client = await world.harness.login("supervisor.demo")
    response = await client.get(path, headers={"Accept": "application/json"})
    assert response.status == status, await response.text()
