"""The server process killed with SIGKILL in the middle of a recorded consult, then
started again: each participant's file plays, covers all but <= 2 s before the kill,
is catalogued 'interrupted' with its SHA-256, and the supervisor can play it."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from pathlib import Path

import av
import pytest

from tests.support.inproc import login_client
from tests.support.peers import ClientPeer, Colour
from tests.support.room_client import accepted_consult, join
from tests.support.server import run_server
from tests.support.sfu import eventually

#: A whole process killed mid-recording (the slow part of the suite).
pytestmark = pytest.mark.slow

RED: Colour = (220, 40, 40)
BLUE: Colour = (40, 40, 220)
TALK_SECONDS = 5.0


def last_video_second(path: Path) -> float:
    until_s, frames = 0.0, 0
    with av.open(str(path)) as container:
        assert container.duration is not None, "recovery remuxed the file (duration, cues)"
        for packet in container.demux(video=0):
            if packet.size:
                frames += len(packet.decode())
                assert packet.pts is not None
                until_s = max(until_s, float(packet.pts * packet.time_base))
    assert frames > 30, f"only {frames} frames decoded"
    return until_s


async def test_a_killed_server_leaves_playable_interrupted_recordings(tmp_path: Path) -> None:
    peers = [ClientPeer(RED), ClientPeer(BLUE)]
    with run_server(tmp_path, name="first") as server:
        clinician = await login_client(server.url, "clinician.demo")
        specialist = await login_client(server.url, "specialist.demo")
        try:
            consult_id = await accepted_consult(clinician, specialist)
            await join(server.url, clinician, consult_id, peers[0])
            await join(server.url, specialist, consult_id, peers[1])
            await eventually(
                lambda: bool(peers[0].received.frames and peers[1].received.frames), 30, "media"
            )
            db = sqlite3.connect(server.data_dir / "consult.sqlite3")
            started_at = db.execute("SELECT started_at FROM recording_sessions").fetchone()[0]
            await asyncio.sleep(TALK_SECONDS)
            killed_at = time.time()
            server.process.kill()  # SIGKILL: no clean-up of any kind
            server.process.wait()
            paths = [Path(r[0]) for r in db.execute("SELECT path FROM recordings")]
            assert db.execute("SELECT DISTINCT status FROM recordings").fetchall() == [
                ("recording",)
            ]
            db.close()
        finally:
            for peer in peers:
                await peer.close()
            for client in (clinician, specialist):
                await client.session.close()

    with run_server(tmp_path, name="second") as server:
        db = sqlite3.connect(server.data_dir / "consult.sqlite3")
        rows = db.execute("SELECT id, path, status, size, sha256 FROM recordings").fetchall()
        assert sorted(Path(r[1]) for r in rows) == sorted(paths)
        lost = []
        for _id, path, status, size, sha256 in rows:
            data = Path(path).read_bytes()
            assert status == "interrupted"
            assert size == len(data) and sha256 == hashlib.sha256(data).hexdigest()
            lost.append(killed_at - started_at - last_video_second(Path(path)))
        print(f"seconds lost at the kill, per file: {[round(x, 2) for x in lost]}")
        assert max(lost) <= 2.0, lost
        session = db.execute("SELECT ended_at FROM recording_sessions").fetchone()
        assert session[0] is not None
        db.close()
        # The supervisor sees it interrupted and can play it (the hash still matches).
        supervisor = await login_client(server.url, "supervisor.demo")
        try:
            listing = await (await supervisor.get("/review")).text()
            assert 'data-state="interrupted"' in listing
            served = await supervisor.get(f"/recordings/{rows[0][0]}/file")
            assert served.status == 200 and await served.read() == Path(rows[0][1]).read_bytes()
        finally:
            await supervisor.session.close()
