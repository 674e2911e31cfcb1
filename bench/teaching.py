"""A teaching session on three nodes: one presenter, synthetic viewers on two edges.

    python -m bench.teaching [--steps 0,20,40,80] [--seconds 15] [--json PATH]

``serve --processes 3`` on a real redis-server. The presenter (pre-encoded VP8 at 15 fps,
500 kbit/s, and Opus) joins the room on its origin node; viewers (aiortc peers in this
process that count frames without decoding) join on the two other nodes, half on each,
added step by step up to each count of ``--steps``. Each edge takes the presenter once
from the origin (a relay peer) and forwards it to its viewers.

Printed per step: each node's CPU (% of one core, from /proc over the window, the origin
first), this load generator's own CPU, video frames delivered to the viewers (of what the
presenter sent), and for the viewers added in the step the time from their join to
their first frame (median and worst). From these: the cost of a viewer (the edges' CPU
slope) and of a relay (an edge's CPU with no viewer, less an idle node's), which
docs/scale.md extends to 5,000 viewers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio

from bench.load_media import LoadPeer
from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role
from consult_server.accounts.passwords import hash_password
from consult_server.cli_admin import with_accounts
from consult_server.config import load_config
from media.ice_host import install_consent_freshness, install_rtp_fast_path
from tests.support.inproc import Client, login_client
from tests.support.metrics_scrape import per_node, scrape
from tests.support.proc import cpu_seconds
from tests.support.redis_server import redis_server
from tests.support.room_client import answer_for, join_room, room_page, room_socket
from tests.support.server import DEMO_PASSWORD, free_ports, run_server, server_env

FPS = 15
KBPS = 500


class Member:
    """A socket and its peer, in the room."""

    def __init__(
        self, client: Client, sio: socketio.AsyncClient, peer: LoadPeer, port: int
    ) -> None:
        self.client, self.sio, self.peer, self.port = client, sio, peer, port
        self.joined_at = time.monotonic()

    async def close(self) -> None:
        await self.peer.close()
        await self.sio.disconnect()
        await self.client.session.close()


async def enter(port: int, client: Client, session: int, publish: bool) -> Member:
    """Open the room page (for its token), then join on node port ``port`` (0: where
    the page says)."""
    place, token = await room_page(client, f"/teaching/{session}/room")
    port = port or int(place["port"])
    sio = await room_socket(f"http://127.0.0.1:{port}", client, token)
    member = Member(client, sio, LoadPeer.create(1, publish=publish, fps=FPS, kbps=KBPS), port)
    await join_room(sio, token)
    await member.peer.accept(await answer_for(sio, token, await member.peer.offer()))
    return member


def udp_errors() -> dict[str, int]:
    """The kernel's UDP error counters (all sockets of the machine)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    names, values = [line for line in lines if line[0] == "Udp:"][:2]
    wanted = ("RcvbufErrors", "SndbufErrors", "InErrors")
    return {n: int(v) for n, v in zip(names[1:], values[1:], strict=True) if n in wanted}


async def keyframe_requests(base: str) -> float:
    """Key-frame requests sent so far, summed over the nodes (/metrics)."""
    return sum(per_node(await scrape(base), "consult_keyframe_requests_total").values())


def children(pid: int) -> dict[int, int]:
    """Node index -> pid of the supervisor's children."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if b"--node-index" in argv:
            found[int(argv[argv.index(b"--node-index") + 1])] = int(child)
    return found


async def make_viewers(env: dict[str, str], count: int) -> None:
    config = load_config(env=env)

    async def work(accounts: Accounts) -> None:
        facility = next(f for f in await accounts.facilities() if f.code == "demo-commune-1")
        hashed = hash_password(DEMO_PASSWORD)  # once: the viewers share a password
        for i in range(count):
            await accounts.create_user(
                f"viewer.{i}",
                DEMO_PASSWORD,
                Role.CLINICIAN,
                facility.id,
                f"BS. Xem {i}",
                password_hash=hashed,
            )

    await with_accounts(config, work)


async def run(tmp: Path, steps: list[int], seconds: float) -> dict[str, Any]:
    port = free_ports(4)
    results: list[dict[str, Any]] = []
    with redis_server(tmp) as redis_url:
        env = {
            "CONSULT_REDIS_URL": redis_url,
            "CONSULT_SERVER_PROCESSES": "3",
            "CONSULT_SECURITY_REQUESTS_PER_MINUTE_USER": "100000",
            "CONSULT_SECURITY_REQUESTS_PER_MINUTE_ADDRESS": "100000",
        }
        with run_server(tmp, env, name="teaching", port=port) as server:
            await make_viewers(server_env(tmp / "data", env), max(steps))
            await asyncio.sleep(3)  # every node in the registry
            host = await login_client(server.url, "specialist.central")
            status, body = await host.api("POST", "/api/teaching", {"title": "bench"})
            assert status == 201, body
            session = int(body["id"])
            presenter = await enter(0, host, session, publish=True)
            origin = presenter.port
            edges = [p for p in (port + 1, port + 2, port + 3) if p != origin]
            nodes = children(server.process.pid)
            by_port = {port + 1 + index: pid for index, pid in nodes.items()}
            order = [origin, *edges]
            viewers: list[Member] = []
            try:
                for step in steps:
                    added: list[Member] = []
                    while len(viewers) < step:
                        i = len(viewers)
                        client = await login_client(server.url, f"viewer.{i}")
                        member = await enter(edges[i % 2], client, session, publish=False)
                        viewers.append(member)
                        added.append(member)
                    await asyncio.sleep(5)  # every new viewer receiving
                    waits = [
                        m.peer.counters[0].first_frame_at - m.joined_at
                        for m in added
                        if m.peer.counters[0].first_frame_at is not None
                    ]
                    cpu0 = {p: cpu_seconds(by_port[p]) for p in order}
                    own0 = time.process_time()
                    each0 = [m.peer.counters[0].frames for m in viewers]
                    sent0 = presenter.peer.frames_sent()
                    udp0, pli0 = udp_errors(), await keyframe_requests(server.url)
                    packets0 = [await m.peer.packets_received() for m in viewers]
                    started = time.monotonic()
                    await asyncio.sleep(seconds)
                    elapsed = time.monotonic() - started
                    cpu = [100 * (cpu_seconds(by_port[p]) - cpu0[p]) / elapsed for p in order]
                    each = [
                        m.peer.counters[0].frames - f for m, f in zip(viewers, each0, strict=True)
                    ]
                    frames = sum(each)
                    sent = presenter.peer.frames_sent() - sent0
                    # Viewers that received under half of what the presenter sent.
                    short = [i for i, n in enumerate(each) if n < sent / 2]
                    udp = {k: v - udp0[k] for k, v in udp_errors().items()}
                    pli = await keyframe_requests(server.url) - pli0
                    packets = [
                        await m.peer.packets_received() - p
                        for m, p in zip(viewers, packets0, strict=True)
                    ]
                    short_packets = sorted(packets[i] for i in short)
                    full_packets = sorted(p for i, p in enumerate(packets) if i not in short)
                    result = {
                        "viewers": len(viewers),
                        "node_cpu_pct": {
                            "origin": round(cpu[0], 1),
                            "edges": [round(c, 1) for c in cpu[1:]],
                        },
                        "load_generator_cpu_pct": round(
                            100 * (time.process_time() - own0) / elapsed, 1
                        ),
                        "frames_delivered": round(frames / (sent * len(viewers)), 3)
                        if viewers and sent
                        else None,
                        "viewers_short": len(short),
                        "udp_errors": udp,
                        "keyframe_requests": pli,
                        "packets_received_median": {
                            "short": statistics.median(short_packets) if short else None,
                            "others": statistics.median(full_packets) if full_packets else None,
                        },
                        "viewers_short_by_edge": [
                            sum(1 for i in short if viewers[i].port == edge) for edge in edges
                        ],
                        "join_to_first_frame_s": {
                            "median": round(statistics.median(waits), 2),
                            "worst": round(max(waits), 2),
                            "missing": len(added) - len(waits),
                        }
                        if added
                        else None,
                    }
                    print(json.dumps(result), flush=True)
                    results.append(result)
            finally:
                for member in viewers:
                    await member.close()
                await presenter.close()
    return {"fps": FPS, "kbps": KBPS, "seconds": seconds, "steps": results, **fit(results)}


def fit(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per viewer: the slope of the edges' CPU over the viewers (least squares); per
    relay: an edge's CPU at no viewer (the intercept) less the third node's idle cost
    is left to the reader (an edge with no viewer has no relay)."""
    points = [(r["viewers"] / 2, sum(r["node_cpu_pct"]["edges"]) / 2) for r in results]
    if len(points) < 2:
        return {}
    xs, ys = zip(*points, strict=True)
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return {}
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return {
        "edge_cpu_pct_per_viewer": round(slope, 3),
        "edge_cpu_pct_at_no_viewer": round(mean_y - slope * mean_x, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    steps = [int(s) for s in args.steps.split(",")]
    # The viewers' ICE as the server's: aioice's own consent check (0.5 s, no retry) gave
    # up on two thirds of 180 viewers while this process was busy adding the others.
    install_consent_freshness()
    install_rtp_fast_path()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return await run(args.keep, steps, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        return await run(Path(tmp), steps, args.seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="2,20,40,80")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="run in this directory and keep its logs")
    arguments = parser.parse_args()
    report = asyncio.run(main(arguments))
    text = json.dumps(report, indent=2)
    print(text)
    if arguments.json:
        arguments.json.write_text(text + "\n")
