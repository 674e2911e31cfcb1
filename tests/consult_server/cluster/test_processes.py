"""``serve --processes 2`` on a real redis-server: both processes serve pages on the
shared port and register as nodes; whichever process served a room page, it names the
node holding the room; the two sides meet there with pictures both ways; the other node
refuses the room's socket (``room_elsewhere``); and without Redis it will not start."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import redis
import socketio

from bench.load_media import LoadPeer
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, login_client
from tests.support.metrics_scrape import gauges_until
from tests.support.redis_server import redis_server
from tests.support.room_client import answer_for, join_room, room_page, room_socket
from tests.support.server import free_ports, run_server, server_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_more_than_one_process_needs_redis(tmp_path: Path) -> None:
    env = server_env(tmp_path / "data", {"CONSULT_SERVER_PROCESSES": "2"})
    done = subprocess.run(
        [sys.executable, "-m", "consult_server", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "redis.url" in done.stderr and "server.processes" in done.stderr, done.stderr


async def _nodes_serving(base: str, want: int) -> set[str]:
    """Node ids seen on the shared port, each request on a new connection."""
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen) < want and time.monotonic() < deadline:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(base + "/healthz") as reply,
        ):
            if reply.status == 200:
                seen.add((await reply.json())["node"])
        await asyncio.sleep(0.05)
    return seen


async def _join(port: int, client: Client, token: str) -> tuple[socketio.AsyncClient, LoadPeer]:
    sio = await room_socket(f"http://127.0.0.1:{port}", client, token)
    await join_room(sio, token)
    peer = LoadPeer.create(remotes=1, publish=True, fps=15, kbps=300)
    await peer.accept(await answer_for(sio, token, await peer.offer()))
    return sio, peer


async def test_two_processes_hold_a_room_on_one_node_and_its_sides_meet_there(
    tmp_path: Path,
) -> None:
    port = free_ports(3)
    with redis_server(tmp_path) as redis_url:
        env = {"CONSULT_REDIS_URL": redis_url, "CONSULT_SERVER_PROCESSES": "2"}
        with run_server(tmp_path, env, port=port) as server:
            nodes = await _nodes_serving(server.url, 2)
            assert len(nodes) == 2, f"{nodes}\n{server.log()}"
            clinician = await login_client(server.url, "clinician.demo")
            specialist = await login_client(server.url, "specialist.demo")
            members: list[tuple[socketio.AsyncClient, LoadPeer]] = []
            try:
                status, body = await clinician.api(
                    "POST", "/api/consults", request_body("Ho kéo dài", consent=False)
                )
                assert status == 201, body
                consult_id = int(body["consult"]["id"])
                status, body = await specialist.api("POST", f"/api/consults/{consult_id}/accept")
                assert status == 200, body
                # Six fetches on new connections (the kernel spreads them over both
                # processes): every page names the same node.
                places = [
                    await room_page(who, f"/consults/{consult_id}/room", new_connection=True)
                    for who in (clinician, specialist) * 3
                ]
                assert len({json.dumps(p) for p, _ in places}) == 1, places
                place = places[0][0]
                assert place["port"] in (port + 1, port + 2), place
                holder = redis.Redis.from_url(redis_url, decode_responses=True).get(
                    f"consult:cluster:room:consult:{consult_id}"
                )
                assert holder in nodes, (holder, nodes)
                # The other node will not take the room's socket.
                other = port + 3 - (place["port"] - port)
                refused = socketio.AsyncClient(reconnection=False)
                why: list[object] = []
                refused.on("connect_error", why.append)
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await refused.connect(
                        f"http://127.0.0.1:{other}",
                        headers={"Cookie": clinician.cookie_header()},
                        auth={"join_token": places[0][1]},
                        transports=["websocket"],
                    )
                assert why and "room_elsewhere" in str(why[0]), why
                # Both sides on the holder: pictures and sound both ways.
                members.append(await _join(place["port"], clinician, places[0][1]))
                members.append(await _join(place["port"], specialist, places[1][1]))
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    frames = [sum(c.frames for c in peer.counters) for _, peer in members]
                    sound = [sum(c.audio_frames for c in peer.counters) for _, peer in members]
                    if min(frames) >= 30 and min(sound) >= 50:
                        break
                    await asyncio.sleep(0.2)
                assert min(frames) >= 30 and min(sound) >= 50, (frames, sound, server.log()[-3000:])
                # One scrape of the shared port counts every node of the host (each
                # brings its gauges up to date every 2 s).
                expected = {holder: 1.0, (nodes - {holder}).pop(): 0.0}
                gauges = await gauges_until(
                    server.url, ["consult_rooms"], lambda g: g["consult_rooms"] == expected, 6
                )
                assert gauges["consult_rooms"] == expected, gauges
            finally:
                for sio, peer in members:
                    await peer.close()
                    await sio.disconnect()
                await clinician.session.close()
                await specialist.session.close()
