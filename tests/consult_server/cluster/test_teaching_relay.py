"""A teaching session across ``serve --processes 3`` on a real redis-server: the
presenter on the room's origin node, a viewer on each of the two other nodes. Each edge
takes the presenter's media once from the origin (one relay peer) and forwards it to its
own viewer; the room's state counts the viewers of every node; a shared screen reaches
the edges' viewers as a second picture (the relays are built again with the new
sources); an edge whose last viewer leaves gives its relay up. Real aiortc peers,
pixels checked."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.support.inproc import Client, login_client
from tests.support.metrics_scrape import Gauges, gauges_until
from tests.support.peers import ClientPeer, Colour, ColourTrack, Viewer, near
from tests.support.redis_server import redis_server
from tests.support.room_client import answer_for, room_page, room_socket
from tests.support.server import free_ports, run_server, server_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]

CAMERA: Colour = (40, 200, 40)
SLIDES: Colour = (40, 40, 220)


async def until(check: Any, within: float, why: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, why
        await asyncio.sleep(0.05)


async def connect(port: int, client: Client, token: str) -> socketio.AsyncClient:
    return await room_socket(f"http://127.0.0.1:{port}", client, token)


async def offer(sio: socketio.AsyncClient, event: str, token: str, pc: RTCPeerConnection) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    answer = await answer_for(sio, token, pc.localDescription.sdp, event)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


async def test_edges_relay_a_teaching_session_from_its_origin(tmp_path: Path) -> None:
    port = free_ports(4)
    with redis_server(tmp_path) as redis_url:
        env = {"CONSULT_REDIS_URL": redis_url, "CONSULT_SERVER_PROCESSES": "3"}
        with run_server(tmp_path, env, port=port) as server:
            host = await login_client(server.url, "specialist.central")
            watchers = [
                await login_client(server.url, name)
                for name in ("clinician.demo", "specialist.demo")
            ]
            sockets: list[socketio.AsyncClient] = []
            peers: list[Any] = []
            try:
                status, body = await host.api("POST", "/api/teaching", {"title": "Đọc X-quang"})
                assert status == 201, body
                session = int(body["id"])
                place, host_token = await room_page(host, f"/teaching/{session}/room", True)
                origin = place["port"]
                edges = [p for p in (port + 1, port + 2, port + 3) if p != origin]
                host_io = await connect(origin, host, host_token)
                sockets.append(host_io)
                hosted = await host_io.call("room:join", {"token": host_token}, timeout=20)
                assert hosted["ok"], hosted
                host_id = int(hosted["room"]["publishers"][0])
                camera = ClientPeer(CAMERA)
                peers.append(camera)
                await offer(host_io, "room:offer", host_token, camera.pc)

                # A viewer's page names the node that served it: viewers spread as pages do.
                viewer_place, _ = await room_page(watchers[0], f"/teaching/{session}/room", True)
                assert viewer_place["port"] in (port + 1, port + 2, port + 3)

                # One viewer on each edge node.
                views: list[Viewer] = []
                states: list[list[dict[str, Any]]] = []
                tokens: list[str] = []
                for watcher, edge in zip(watchers, edges, strict=True):
                    _, token = await room_page(watcher, f"/teaching/{session}/room", True)
                    sio = await connect(edge, watcher, token)
                    sockets.append(sio)
                    seen: list[dict[str, Any]] = []
                    sio.on("room:state", seen.append)
                    states.append(seen)
                    tokens.append(token)
                    started = time.monotonic()
                    joined = await sio.call("room:join", {"token": token}, timeout=20)
                    assert joined.get("ok"), joined
                    assert joined["room"]["publishers"] == [host_id]
                    view = Viewer(pictures=1)
                    peers.append(view)
                    views.append(view)
                    await offer(sio, "room:offer", token, view.pc)
                    await until(
                        lambda v=view: near(v.colour(0), CAMERA), 20, "no picture via the relay"
                    )
                    print(f"viewer on node port {edge}: picture {time.monotonic() - started:.2f} s")
                # The origin's state counts the viewers of every node.
                await until(
                    lambda: bool(states[0]) and states[0][-1]["viewers"] == 2,
                    10,
                    f"viewers counted: {states[0][-1:]}",
                )

                # A shared screen: the relays are built again with both sources, and a
                # viewer's page, told by the origin's state, offers for two pictures.
                screen = RTCPeerConnection()
                peers.append(screen)
                screen.addTransceiver(ColourTrack(SLIDES), direction="sendonly")
                await offer(host_io, "room:screen", host_token, screen)
                for seen in states:
                    await until(
                        lambda s=seen: s[-1]["publishers"] == [host_id, -host_id],
                        10,
                        "the screen never reached an edge's viewer",
                    )
                both = Viewer(pictures=2)
                peers.append(both)
                await offer(sockets[2], "room:offer", tokens[1], both.pc)
                await until(
                    lambda: near(both.colour(0), CAMERA) and near(both.colour(1), SLIDES),
                    20,
                    "the edge's viewer does not see camera and screen",
                )
                # The first edge's viewer, untouched, still sees the presenter.
                views[0].last.clear()
                await until(lambda: near(views[0].colour(0), CAMERA), 10, "first edge stopped")

                # The first edge's viewer leaves: its edge gives the relay up (the
                # origin then holds the presenter's peer, the screen's and one relay).
                assert (await sockets[1].call("room:leave", {"token": tokens[0]}))["ok"]
                await until(
                    lambda: states[1][-1]["viewers"] == 1, 10, "the leaving viewer still counted"
                )
                # Per node, the media peers: the origin holds the presenter's camera and
                # screen and the one relay left; the second edge its relay and its viewer.
                # And the relays: one edge relays the room, the origin serves one relay.
                wanted = {
                    "consult_participants": [0.0, 2.0, 3.0],
                    "consult_rooms_relayed": [0.0, 0.0, 1.0],
                    "consult_relays_served": [0.0, 0.0, 1.0],
                }

                def spread(gauges: Gauges) -> dict[str, list[float]]:
                    return {name: sorted(by_node.values()) for name, by_node in gauges.items()}

                gauges = await gauges_until(server.url, list(wanted), lambda g: spread(g) == wanted)
                assert spread(gauges) == wanted, (gauges, server.log()[-3000:])

                # The second edge drains: its viewer is told to go (its page asks where
                # and goes to a node that takes rooms), and it gives its relay up.
                moved: list[object] = []
                sockets[2].on("room:move", moved.append)
                async with aiohttp.ClientSession() as http:
                    url = f"http://127.0.0.1:{edges[1]}/healthz"
                    async with http.get(url) as reply:
                        edge_node = (await reply.json())["node"]
                done = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "consult_server", "drain", "--node", edge_node],
                    env=server_env(server.data_dir, {"CONSULT_REDIS_URL": redis_url}),
                    capture_output=True,
                    text=True,
                    timeout=60,
                    cwd=tmp_path,
                )
                assert done.returncode == 0 and "draining" in done.stdout, done
                await until(lambda: bool(moved), 10, "the drained edge's viewer was not moved")
                await until(
                    lambda: states[1][-1]["viewers"] == 0, 10, "the drained edge's viewer counted"
                )
            finally:
                for sio in sockets:
                    await sio.disconnect()
                for peer in peers:
                    await peer.close()
                for client in (host, *watchers):
                    await client.session.close()
