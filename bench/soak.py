"""A long day under load, against a real server process (issue 22).

    python -m bench.soak [--minutes 30] [--consults 8] [--three-way 2] [--json PATH]

``--consults`` consults run at once, coming and going: each is filed (every other one
with the patient's consent, so recorded), accepted, joined by both sides (pre-encoded
VP8 at 15 fps and Opus, counted on arrival, never decoded), joined by a third
specialist in ``--three-way`` of them, given an uploaded CT slice and 20 chat lines,
cut once (the clinician's peer closed and rebuilt, as a lost link does), then left and
followed by the next. A supervisor plays recorded sessions through the review's file
route with byte ranges.

Every minute it prints one JSON line: the server's RSS, open file descriptors and
threads, the event loop's lag over that minute (p99, from ``/healthz``), the database's
size, each call's frames delivered (the share of what its publishers sent), calls
dropped, and ERROR lines in the server's log. At the end, the summary against the
targets: 0 calls dropped, RSS drift ≤ 10 % after minute 5, descriptors and threads flat
(the last third's peak within 4 of the first third's),
loop lag p99 ≤ 50 ms, 0 ERROR lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from bench.load_media import LoadPeer, vp8_camera
from bench.output import emit
from tests.consult_server.attachments.test_views import send
from tests.support import sample_files
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, login_client
from tests.support.room_client import answer_for, join_room, room_page, room_socket
from tests.support.server import RunningServer, run_server

FPS = 15
KBPS = 500
SUPERVISOR = "supervisor.demo"
CHAT_LINES = 20
#: A call whose subscriber got nothing for this long (outside its own cut) is dropped.
SILENT_DROP_S = 10.0
ENV = {
    # A soak files far more than a clinician's hourly allowance.
    "CONSULT_SECURITY_CONSULTS_PER_HOUR": "100000",
    "CONSULT_SECURITY_REQUESTS_PER_MINUTE_USER": "100000",
    "CONSULT_SECURITY_REQUESTS_PER_MINUTE_ADDRESS": "100000",
}


@dataclass
class Member:
    """One participant's room socket and peer."""

    sio: socketio.AsyncClient
    token: str
    peer: LoadPeer


@dataclass
class Call:
    consult_id: int
    members: list[Member]
    started: float
    #: The clinician's peer is being rebuilt (its own silence is no drop).
    cutting: bool = False
    dropped: bool = False


@dataclass
class Tally:
    calls_started: int = 0
    calls_finished: int = 0
    calls_dropped: int = 0
    uploads: int = 0
    chat_lines: int = 0
    reconnects: list[float] = field(default_factory=list)
    playbacks: int = 0
    failures: list[str] = field(default_factory=list)
    live: dict[int, Call] = field(default_factory=dict)
    #: This minute: frames received by every subscriber of a running call (not during
    #: a cut), and what their publishers sent meanwhile.
    frames_received: int = 0
    frames_expected: int = 0


async def join(base: str, client: Client, consult_id: int, remotes: int) -> Member:
    _, token = await room_page(client, f"/consults/{consult_id}/room")
    sio = await room_socket(base, client, token)
    await join_room(sio, token)
    peer = LoadPeer.create(remotes=remotes, publish=True, fps=FPS, kbps=KBPS)
    await peer.accept(await answer_for(sio, token, await peer.offer()))
    return Member(sio, token, peer)


async def rebuild(base: str, member: Member, remotes: int) -> LoadPeer:
    """What a page does after a lost link: a new peer connection, offered again."""
    await member.peer.close()
    peer = LoadPeer.create(remotes=remotes, publish=True, fps=FPS, kbps=KBPS)
    await peer.accept(await answer_for(member.sio, member.token, await peer.offer()))
    return peer


def received(member: Member) -> int:
    return sum(counter.frames for counter in member.peer.counters)


async def one_consult(
    server: RunningServer,
    clients: dict[str, Client],
    central_id: int,
    slot: int,
    three_way: bool,
    seconds: float,
    tally: Tally,
) -> None:
    clinician, specialist = clients["clinician.demo"], clients["specialist.demo"]
    status, body = await clinician.api(
        "POST", "/api/consults", request_body(f"soak {slot}", consent=slot % 2 == 0)
    )
    assert status == 201, body
    consult_id = int(body["consult"]["id"])
    status, body = await specialist.api("POST", f"/api/consults/{consult_id}/accept")
    assert status == 200, body
    remotes = 2 if three_way else 1
    members = [
        await join(server.url, clinician, consult_id, remotes),
        await join(server.url, specialist, consult_id, remotes),
    ]
    if three_way:
        status, body = await specialist.api(
            "POST", f"/api/consults/{consult_id}/invite", {"user_id": central_id}
        )
        assert status == 200, body
        members.append(await join(server.url, clients["specialist.central"], consult_id, 2))
        # The first two rebuild for the third, as their pages do on the room's state.
        for member in members[:2]:
            member.peer = await rebuild(server.url, member, 2)
    call = Call(consult_id, members, time.monotonic())
    tally.live[consult_id] = call
    tally.calls_started += 1
    try:
        status, _ = await send(
            clinician, consult_id, sample_files.ct_dicom(instance=random.randint(1, 300))
        )
        assert status == 201
        tally.uploads += 1
        gap = seconds / (CHAT_LINES + 1)
        cut_at = random.randint(CHAT_LINES // 3, 2 * CHAT_LINES // 3)
        for line in range(CHAT_LINES):
            await asyncio.sleep(gap)
            speaker = members[line % 2]
            reply = await speaker.sio.call(
                "room:chat", {"token": speaker.token, "text": f"dòng {line} của ca {slot}"}
            )
            assert reply.get("ok"), reply
            tally.chat_lines += 1
            if line == cut_at:
                call.cutting = True
                before = received(members[1])
                started = time.monotonic()
                members[0].peer = await rebuild(server.url, members[0], remotes)
                for _ in range(300):  # back when the other side has a frame again
                    if received(members[1]) > before:
                        break
                    await asyncio.sleep(0.1)
                tally.reconnects.append(round(time.monotonic() - started, 2))
                call.cutting = False
    finally:
        for member in members:
            with contextlib.suppress(Exception):
                await member.sio.call("room:leave", {"token": member.token}, timeout=10)
            with contextlib.suppress(Exception):
                await member.sio.disconnect()
            await member.peer.close()
        tally.live.pop(consult_id, None)
        tally.calls_finished += 1


async def slot_loop(
    server: RunningServer,
    clients: dict[str, Client],
    central_id: int,
    slot: int,
    three_way: bool,
    until: float,
    tally: Tally,
) -> None:
    while time.monotonic() < until - 60:
        seconds = random.uniform(120, 200)
        try:
            await one_consult(server, clients, central_id, slot, three_way, seconds, tally)
        except Exception as exc:  # a call that failed is counted, and the next one starts
            tally.failures.append(f"slot {slot}: {type(exc).__name__}: {str(exc)[:120]}")
            await asyncio.sleep(5)


async def watch_calls(tally: Tally, until: float) -> None:
    """A call is dropped when a participant receives nothing for SILENT_DROP_S outside
    a cut."""
    last: dict[tuple[int, int], tuple[int, float]] = {}
    while time.monotonic() < until:
        now = time.monotonic()
        for call in list(tally.live.values()):
            for index, member in enumerate(call.members):
                key = (call.consult_id, index)
                count = received(member)
                seen, since = last.get(key, (-1, now))
                if seen >= 0 and not call.cutting and now - call.started > 20 and count >= seen:
                    tally.frames_received += count - seen
                    tally.frames_expected += FPS * len(member.peer.counters)
                if count != seen:
                    last[key] = (count, now)
                elif (
                    not call.cutting
                    and now - call.started > 20
                    and now - since > SILENT_DROP_S
                    and not call.dropped
                ):
                    call.dropped = True
                    tally.calls_dropped += 1
        await asyncio.sleep(1)


async def supervisor(server: RunningServer, client: Client, until: float, tally: Tally) -> None:
    """Plays a recorded session now and then: a few byte ranges of its file."""
    database = server.data_dir / "consult.sqlite3"
    while time.monotonic() < until:
        await asyncio.sleep(20)
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT id, size FROM recordings WHERE status = 'complete'"
                " ORDER BY random() LIMIT 1"
            ).fetchall()
        if not rows:
            continue
        recording_id, size = rows[0]
        for start in range(0, max(1, int(size)), max(1, int(size) // 4)):
            async with client.session.get(
                f"{client.base}/recordings/{recording_id}/file",
                headers={"Range": f"bytes={start}-{start + 65535}"},
            ) as reply:
                await reply.read()
                if reply.status not in (200, 206):
                    tally.failures.append(f"playback {recording_id}: {reply.status}")
        tally.playbacks += 1


def proc_status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "Threads"):
            fields[name] = int(value.split()[0])
    fields["fds"] = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    return fields


async def minute_report(
    server: RunningServer, clients: dict[str, Client], tally: Tally, minute: int
) -> dict[str, Any]:
    status = proc_status(server.process.pid)
    _, health = await clients["clinician.demo"].api("GET", "/healthz")
    size = sum(p.stat().st_size for p in server.data_dir.glob("consult.sqlite3*"))
    errors = [line[:300] for line in server.log().splitlines() if " ERROR " in line]
    share = tally.frames_received / tally.frames_expected if tally.frames_expected else None
    tally.frames_received = tally.frames_expected = 0
    return {
        "minute": minute,
        "rss_mib": round(status["VmRSS"] / 1024, 1),
        "fds": status["fds"],
        "threads": status["Threads"],
        "loop_lag_p99_ms": health["loop_lag_ms"]["p99"],
        "loop_lag_max_ms": health["loop_lag_ms"]["max"],
        "gc_full_collections": health["gc"]["gen2"]["collections"],
        "gc_full_max_ms": health["gc"]["gen2"]["max_ms"],
        "db_mib": round(size / 2**20, 2),
        "calls_live": len(tally.live),
        "calls_started": tally.calls_started,
        "calls_dropped": tally.calls_dropped,
        "uploads": tally.uploads,
        "chat_lines": tally.chat_lines,
        "reconnects": len(tally.reconnects),
        "playbacks": tally.playbacks,
        "frames_delivered_pct": None if share is None else round(100 * share, 1),
        "errors_in_log": len(errors),
        "first_errors": errors[:3],
        "failures": len(tally.failures),
    }


async def soak(minutes: float, consults: int, three_way: int) -> dict[str, Any]:
    vp8_camera(fps=FPS, kbps=KBPS)  # encoded once, before the clock starts
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp), ENV) as server:
        clients = {
            name: await login_client(server.url, name)
            for name in (
                "clinician.demo",
                "specialist.demo",
                "specialist.central",
                "supervisor.demo",
            )
        }
        try:
            with sqlite3.connect(
                f"file:{server.data_dir / 'consult.sqlite3'}?mode=ro", uri=True
            ) as db:
                row = db.execute(
                    "SELECT id FROM users WHERE username = 'specialist.central'"
                ).fetchone()
            central_id = int(row[0])
            before = proc_status(server.process.pid)
            tally = Tally()
            started = time.monotonic()
            until = started + minutes * 60
            tasks = [
                asyncio.create_task(
                    slot_loop(server, clients, central_id, slot, slot < three_way, until, tally)
                )
                for slot in range(consults)
            ]
            tasks.append(asyncio.create_task(watch_calls(tally, until)))
            tasks.append(asyncio.create_task(supervisor(server, clients[SUPERVISOR], until, tally)))
            reports = []
            for minute in range(1, int(minutes) + 1):
                await asyncio.sleep(max(0.0, started + minute * 60 - time.monotonic()))
                report = await minute_report(server, clients, tally, minute)
                reports.append(report)
                print(json.dumps(report), flush=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(5)  # the last rooms end and their recordings close
            idle = proc_status(server.process.pid)
            return summarise(reports, tally, before, idle)
        finally:
            for client in clients.values():
                await client.session.close()


def flat(counts: list[int], slack: int = 4) -> bool:
    """No upward trend: the last third's peak within ``slack`` of the first third's
    (the counts swing with the calls live at that minute; a leak climbs)."""
    third = max(1, len(counts) // 3)
    return max(counts[-third:]) <= max(counts[:third]) + slack


def summarise(
    reports: list[dict[str, Any]], tally: Tally, before: dict[str, int], idle: dict[str, int]
) -> dict[str, Any]:
    after5 = [r for r in reports if r["minute"] >= 5] or reports
    base = after5[0]["rss_mib"]
    drift = round(100 * (reports[-1]["rss_mib"] - base) / base, 1)
    lag = max(r["loop_lag_p99_ms"] for r in reports)
    threads_flat = flat([r["threads"] for r in after5])
    fds_flat = flat([r["fds"] for r in after5])
    return {
        "benchmark": "soak",
        "minutes": len(reports),
        "calls": tally.calls_started,
        "calls_dropped": tally.calls_dropped,
        "reconnect_median_s": statistics.median(tally.reconnects) if tally.reconnects else None,
        "rss_mib_minute5_to_end": [base, reports[-1]["rss_mib"]],
        "rss_drift_pct_after_minute5": drift,
        "rss_mib_before": round(before["VmRSS"] / 1024, 1),
        "rss_mib_idle_after": round(idle["VmRSS"] / 1024, 1),
        "fds_range": [min(r["fds"] for r in after5), max(r["fds"] for r in after5)],
        "threads_range": [min(r["threads"] for r in after5), max(r["threads"] for r in after5)],
        "threads_before": before["Threads"],
        "threads_idle_after": idle["Threads"],
        "fds_before": before["fds"],
        "fds_idle_after": idle["fds"],
        "gc_full_max_ms_worst_minute": max(r["gc_full_max_ms"] for r in reports),
        "loop_lag_p99_ms_worst_minute": lag,
        # A run too short for calls to start has no frames to give a range of.
        "frames_delivered_pct_range": [
            min(
                (r["frames_delivered_pct"] for r in after5 if r["frames_delivered_pct"]),
                default=None,
            ),
            max(
                (r["frames_delivered_pct"] for r in after5 if r["frames_delivered_pct"]),
                default=None,
            ),
        ],
        "errors_in_log": reports[-1]["errors_in_log"],
        "failures": tally.failures[:20],
        "targets": {
            "no_call_dropped": tally.calls_dropped == 0,
            "rss_drift_le_10pct": drift <= 10,
            "threads_flat": threads_flat,
            "fds_flat": fds_flat,
            "loop_lag_p99_le_50ms": lag <= 50,
            "no_error_lines": reports[-1]["errors_in_log"] == 0,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--consults", type=int, default=8)
    parser.add_argument("--three-way", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    summary = asyncio.run(soak(args.minutes, args.consults, args.three_way))
    emit(summary, args.json, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
