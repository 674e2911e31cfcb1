"""One server process against two (``serve --processes 2``), the same load side by side.

    python -m bench.processes [--consults 4,8] [--seconds 20] [--json PATH]

For each K, the same K concurrent 1:1 consults (pre-encoded VP8 at 15 fps, 500 kbit/s,
and Opus, both sides publishing; aiortc peers in this process that count frames without
decoding) run against one process, then against two on a real redis-server. Each room
page names the node holding the room; the peers open their room sockets there. Printed
per run: each server process's CPU (% of one core, from /proc over the window), the
rooms each node holds (from /metrics), frames delivered, and each node's loop lag p99
(its own /healthz).

On a 2-core machine the load generator needs about as much CPU as the server it loads,
so this shows what it can: whether two processes cost what one does for the same calls,
and how evenly the rooms spread. It does not show the capacity ratio; docs/scale.md says
how the per-process cost extends to hosts with cores to spare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

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


async def one_run(tmp: Path, processes: int, consults: int, seconds: float) -> dict[str, Any]:
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
                    "server_cpu_pct_per_process": sorted(round(v, 1) for v in cpu.values()),
                    "server_cpu_pct_total": round(sum(cpu.values()), 1),
                    "rooms_per_node": sorted(rooms.values()),
                    "frames_delivered": round(frames / expected, 3),
                    "loop_lag_p99_ms_per_node": lags,
                }
            finally:
                for sio, peer in members:
                    await peer.close()
                    await sio.disconnect()
                await clinician.session.close()
                await specialist.session.close()


async def bench(consults: list[int], seconds: float) -> dict[str, Any]:
    vp8_camera(fps=FPS, kbps=KBPS)  # encoded once, before any clock
    rows = []
    for k in consults:
        for processes in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                row = await one_run(Path(tmp), processes, k, seconds)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return {"benchmark": "processes", "seconds": seconds, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consults", default="4,8")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(bench([int(k) for k in args.consults.split(",")], args.seconds))
    emit(report, args.json, indent=1)


if __name__ == "__main__":
    main()
