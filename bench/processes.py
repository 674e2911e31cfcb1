"""One server process against two (``serve --processes 2``), the same load side by side.

    python -m bench.processes [--consults 4,8] [--seconds 20] [--json PATH]
    sudo python -m bench.processes --quota 15 --consults 6,8,10,12 --seconds 60

For each K, the same K concurrent 1:1 consults (pre-encoded VP8 at 15 fps, 500 kbit/s,
and Opus, both sides publishing; aiortc peers in this process that count frames without
decoding) run against one process, then against two on a real redis-server. Each room
page names the node holding the room; the peers open their room sockets there. Printed
per run: each server process's CPU (% of one core, from /proc over the window), the
rooms each node holds (from /metrics), frames delivered, and each node's loop lag p99
(its own /healthz).

On a 2-core machine the load generator needs about as much CPU as the server it loads,
so without ``--quota`` this shows whether two processes cost what one does for the same
calls, and how evenly the rooms spread. ``--quota PCT`` holds each server process to PCT %
of one core (bench/cpu_quota.py) from after the joins to the end of the window: each
process then stands for a small core of its own that the load cannot take, and the most
consults each configuration holds at full quality (every frame delivered, loop lag p99
under 50 ms, with every fewer consults holding too) is its capacity; the report gives
both and their ratio. ``/healthz`` gives the lag over the last minute, so the window
should be 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.cpu_quota import held_to
from bench.load_media import LoadPeer, vp8_camera
from bench.output import emit
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, login_client
from tests.support.proc import cpu_seconds
from tests.support.redis_server import redis_server
from tests.support.room_client import answer_for, join_room, room_page, room_socket
from tests.support.server import RunningServer, free_ports, run_server

FPS = 15
KBPS = 500
_ROOMS = re.compile(r'^consult_rooms\{node="([^"]+)"\} (\S+)$', re.MULTILINE)


async def join(base: str, port: int, client: Client, consult_id: int) -> tuple[Any, LoadPeer]:
    place, token = await room_page(client, f"/consults/{consult_id}/room")
    sio = await room_socket(f"http://127.0.0.1:{place.get('port') or port}", client, token)
    await join_room(sio, token)
    peer = LoadPeer.create(remotes=1, publish=True, fps=FPS, kbps=KBPS)
    await peer.accept(await answer_for(sio, token, await peer.offer()))
    return sio, peer


def children(server: RunningServer) -> list[int]:
    pid = server.process.pid
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found] or [pid]


#: Full quality, as the issue counts it.
FRAMES_HELD = 0.995
LAG_HELD_MS = 50.0


def held(row: dict[str, Any]) -> bool:
    return bool(
        row["frames_delivered"] >= FRAMES_HELD
        and max(row["loop_lag_p99_ms_per_node"]) < LAG_HELD_MS
    )


def capacity(rows: list[dict[str, Any]], processes: int) -> int:
    """The most consults held at full quality, every fewer one holding too."""
    most = 0
    for row in sorted(
        (r for r in rows if r["processes"] == processes), key=lambda r: r["consults"]
    ):
        if not held(row):
            break
        most = row["consults"]
    return most


async def one_run(
    tmp: Path, processes: int, consults: int, seconds: float, quota: float | None = None
) -> dict[str, Any]:
    port = free_ports(processes + 2)
    with redis_server(tmp) as redis_url:
        env = {
            "CONSULT_REDIS_URL": redis_url,
            "CONSULT_SERVER_PROCESSES": str(processes),
            "CONSULT_SECURITY_CONSULTS_PER_HOUR": "100000",
            "CONSULT_SECURITY_REQUESTS_PER_MINUTE_USER": "100000",
            "CONSULT_SECURITY_REQUESTS_PER_MINUTE_ADDRESS": "100000",
        }
        with run_server(tmp, env, name=f"p{processes}-k{consults}", port=port) as server:
            await asyncio.sleep(3)  # every node in the registry
            clinician = await login_client(server.url, "clinician.demo")
            specialist = await login_client(server.url, "specialist.demo")
            members: list[tuple[Any, LoadPeer]] = []
            held_now = contextlib.ExitStack()
            try:
                for n in range(consults):
                    status, body = await clinician.api(
                        "POST", "/api/consults", request_body(f"bench {n}", consent=False)
                    )
                    assert status == 201, body
                    consult_id = int(body["consult"]["id"])
                    status, body = await specialist.api(
                        "POST", f"/api/consults/{consult_id}/accept"
                    )
                    assert status == 200, body
                    for who in (clinician, specialist):
                        members.append(await join(server.url, port, who, consult_id))
                await asyncio.sleep(5)  # warm
                pids = children(server)
                if quota is not None:  # after the joins: answers are not what is measured
                    held_now.enter_context(held_to(pids, quota))
                cpu0 = {pid: cpu_seconds(pid) for pid in pids}
                frames0 = sum(c.frames for _, p in members for c in p.counters)
                started = time.monotonic()
                await asyncio.sleep(seconds)
                elapsed = time.monotonic() - started
                cpu = {pid: 100 * (cpu_seconds(pid) - cpu0[pid]) / elapsed for pid in pids}
                frames = sum(c.frames for _, p in members for c in p.counters) - frames0
                expected = len(members) * FPS * elapsed
                lags = []
                async with aiohttp.ClientSession() as http:
                    nodes = range(processes) if processes > 1 else [-1]
                    for index in nodes:
                        url = f"http://127.0.0.1:{port + 1 + index}/healthz"
                        async with http.get(url) as reply:
                            lags.append((await reply.json())["loop_lag_ms"]["p99"])
                    async with http.get(server.url + "/metrics") as reply:
                        rooms = {k: float(v) for k, v in _ROOMS.findall(await reply.text())}
                return {
                    "processes": processes,
                    "consults": consults,
                    "quota_pct_per_process": quota,
                    "server_cpu_pct_per_process": sorted(round(v, 1) for v in cpu.values()),
                    "server_cpu_pct_total": round(sum(cpu.values()), 1),
                    "rooms_per_node": sorted(rooms.values()),
                    "frames_delivered": round(frames / expected, 3),
                    "loop_lag_p99_ms_per_node": lags,
                }
            finally:
                held_now.close()  # the quota lifted before the teardown
                for sio, peer in members:
                    await peer.close()
                    await sio.disconnect()
                await clinician.session.close()
                await specialist.session.close()


async def bench(
    consults: list[int], seconds: float, quota: float | None, processes: list[int]
) -> dict[str, Any]:
    vp8_camera(fps=FPS, kbps=KBPS)  # encoded once, before any clock
    rows = []
    failed: set[int] = set()
    for k in consults:
        for count in processes:
            if quota is not None and count in failed:
                continue  # past its capacity already: more would not hold either
            with tempfile.TemporaryDirectory() as tmp:
                row = await one_run(Path(tmp), count, k, seconds, quota)
            print(json.dumps(row), flush=True)
            rows.append(row)
            if not held(row):
                failed.add(count)
    report: dict[str, Any] = {"benchmark": "processes", "seconds": seconds, "rows": rows}
    if quota is not None:
        one, two = capacity(rows, 1), capacity(rows, 2)
        report["capacity"] = {
            "quota_pct_per_process": quota,
            "one_process": one,
            "two_processes": two,
            "ratio": round(two / one, 2) if one else None,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consults", default="4,8")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--quota", type=float, help="each server process held to PCT %% of a core")
    parser.add_argument("--processes", default="1,2", help="which configurations (1, 2)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    consults = [int(k) for k in args.consults.split(",")]
    counts = [int(n) for n in args.processes.split(",")]
    report = asyncio.run(bench(consults, args.seconds, args.quota, counts))
    emit(report, args.json, indent=1)


if __name__ == "__main__":
    main()
