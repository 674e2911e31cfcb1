"""A recorded consult through the real app: the catalog, the timeline events and the
indicator, however the room ends."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av
import pytest

from consult_server.config import CONFIG
from consult_server.store.db import DB
from consult_server.store.engine import open_sync
from tests.support.inproc import Client, Harness, running_app
from tests.support.peers import ClientPeer, Colour
from tests.support.room_client import InRoom, accepted_consult, join
from tests.support.sfu import eventually

RED: Colour = (220, 40, 40)
BLUE: Colour = (40, 40, 220)


async def recorded_pair(harness: Harness) -> tuple[Client, int, InRoom, InRoom]:
    """clinician.demo and specialist.demo in a consented, recorded consult room, media
    flowing both ways and the recording indicator on; returns the specialist's client,
    the consult and both room clients."""
    clinician = await harness.login("clinician.demo")
    specialist = await harness.login("specialist.demo")
    consult_id = await accepted_consult(clinician, specialist)
    a = await join(harness.base, clinician, consult_id, ClientPeer(RED))
    b = await join(harness.base, specialist, consult_id, ClientPeer(BLUE))
    states: list[dict[str, object]] = []
    a.sio.on("room:state", states.append)
    await eventually(lambda: bool(a.peer.received.frames and b.peer.received.frames), 30, "media")
    await eventually(lambda: any(s.get("recording") for s in states), 10, "the indicator")
    return specialist, consult_id, a, b


async def test_everyone_leaving_completes_the_recordings(harness: Harness) -> None:
    """Both hang up at once: the last one out finishes the files, and the room's end
    still catalogues them complete with their hashes (they were once lost here)."""
    _, consult_id, a, b = await recorded_pair(harness)
    await asyncio.sleep(1.5)
    await b.leave()
    await a.leave()
    db = harness.app[DB]

    async def rows() -> list[tuple[str, str, int, str]]:
        found = await db.fetch_all("SELECT path, status, size, sha256 FROM recordings")
        return [(r["path"], r["status"], r["size"], r["sha256"]) for r in found]

    for _ in range(100):
        if [r[1] for r in await rows()] == ["complete", "complete"]:
            break
        await asyncio.sleep(0.05)
    found = await rows()
    assert [r[1] for r in found] == ["complete", "complete"], found
    for path, _status, size, sha256 in found:
        data = Path(path).read_bytes()
        assert size == len(data) and sha256 == hashlib.sha256(data).hexdigest()
        with av.open(path) as container:
            assert container.duration is not None, "closed properly: duration written"
            assert sum(len(p.decode()) for p in container.demux(video=0) if p.size) > 10
    kinds = [
        r["kind"]
        for r in await db.fetch_all(
            "SELECT kind FROM consult_events WHERE consult_id = ? ORDER BY id", (consult_id,)
        )
    ]
    room = [k for k in kinds if k.startswith(("room_", "recording_"))]
    assert room[:2] == ["room_join", "room_join"] and "recording_start" in room
    assert room[-3:] == ["room_leave", "room_leave", "recording_stop"], room


@pytest.mark.slow  # a server stopped and started again, on both engines
async def test_a_restart_finishes_recordings_and_the_consult_can_be_resumed(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    """A graceful stop (an upgrade) catalogues the running recordings complete and keeps
    the consult in session; after the restart its people rejoin, and the resumed session
    is recorded as a second session."""
    async with running_app(tmp_path, **database) as first:
        clinician = await first.login("clinician.demo")
        specialist = await first.login("specialist.demo")
        consult_id = await accepted_consult(clinician, specialist)
        a = await join(first.base, clinician, consult_id, ClientPeer(RED))
        b = await join(first.base, specialist, consult_id, ClientPeer(BLUE))
        await eventually(
            lambda: bool(a.peer.received.frames and b.peer.received.frames), 30, "media"
        )
        await asyncio.sleep(1.5)
        url = first.app[CONFIG].database_url
    # The app is stopped (its clean-up ran) while both were still in the room.
    await a.peer.close()
    await b.peer.close()
    engine = open_sync(url)
    with engine.connect() as db:
        statuses = [r[0] for r in db.exec_driver_sql("SELECT status FROM recordings")]
        state = db.exec_driver_sql("SELECT state FROM consults").scalar()
    engine.dispose()
    assert statuses == ["complete"] * 2 and state == "in_session"

    async with running_app(tmp_path, **database) as second:
        clinician = await second.login("clinician.demo")
        specialist = await second.login("specialist.demo")
        a = await join(second.base, clinician, consult_id, ClientPeer(RED))
        b = await join(second.base, specialist, consult_id, ClientPeer(BLUE))
        await eventually(
            lambda: bool(a.peer.received.frames and b.peer.received.frames), 30, "media again"
        )
        await asyncio.sleep(1.0)
        await b.leave()
        await a.leave()
        store = second.app[DB]
        for _ in range(100):
            consult = await store.fetch_one("SELECT state FROM consults")
            if consult is not None and consult["state"] == "ended":
                break
            await asyncio.sleep(0.05)
        sessions = await store.fetch_all(
            "SELECT s.id, COUNT(r.id) AS n, MIN(r.status) AS lo, MAX(r.status) AS hi"
            " FROM recording_sessions s"
            " JOIN recordings r ON r.session_id = s.id GROUP BY s.id ORDER BY s.id"
        )
        assert [(r["n"], r["lo"], r["hi"]) for r in sessions] == [(2, "complete", "complete")] * 2
        final = await store.fetch_one("SELECT state FROM consults")
        assert final is not None and final["state"] == "ended"


async def test_an_invited_specialists_file_is_catalogued_like_the_others(
    harness: Harness,
) -> None:
    """A specialist invited into a room already being recorded: their file was written
    but never catalogued (no hash, not reviewable, out of retention's reach)."""
    central = await harness.login("specialist.central")
    specialist, consult_id, a, b = await recorded_pair(harness)
    central_id = (
        await harness.app[DB].fetch_one(
            "SELECT id FROM users WHERE username = 'specialist.central'"
        )
    )["id"]  # type: ignore[index]
    status, _ = await specialist.api(
        "POST", f"/api/consults/{consult_id}/invite", {"user_id": central_id}
    )
    assert status == 200
    c = await join(harness.base, central, consult_id, ClientPeer((40, 200, 40)))
    await eventually(lambda: bool(c.peer.received.frames), 30, "media to the invited")
    await asyncio.sleep(1.5)
    for client in (c, b, a):
        await client.leave()
    db = harness.app[DB]
    for _ in range(100):
        rows = await db.fetch_all("SELECT user_id, role, path, status, sha256 FROM recordings")
        if len(rows) == 3 and all(r["status"] == "complete" for r in rows):
            break
        await asyncio.sleep(0.05)
    by_user = {r["user_id"]: r for r in rows}
    assert central_id in by_user, [dict(r) for r in rows]
    entry = by_user[central_id]
    assert (entry["role"], entry["status"]) == ("specialist", "complete")
    data = Path(entry["path"]).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    sessions = await db.fetch_all("SELECT DISTINCT session_id FROM recordings")
    assert len(sessions) == 1, "one recorded session holds all three files"
