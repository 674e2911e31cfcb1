"""A lesson's presenter in Chromium sends the camera in two layers; two viewers (aiortc,
counting encoded frames) each get the layer their own link carries. One viewer's
estimate falls (its browser's REMB, sent over the wire): it moves down to a smaller
picture at a key frame while the other keeps the full one; its estimate rises again
and it moves back up."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import socketio
from playwright.async_api import Playwright, expect

from media import aiortc_hook
from tests.support.browser import launch, login
from tests.support.encoded import CapturingPeer
from tests.support.inproc import login_client
from tests.support.room_client import answer_for, join_room, room_page, room_socket
from tests.support.server import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """A VP8 key frame's picture size (RFC 6386 9.1); None for other frames."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return (
        int.from_bytes(frame[6:8], "little") & 0x3FFF,
        int.from_bytes(frame[8:10], "little") & 0x3FFF,
    )


def sizes(peer: CapturingPeer, since: float = 0.0) -> list[tuple[int, int]]:
    return [s for at, data in peer.captures[0].frames if at >= since if (s := vp8_size(data))]


class Viewer:
    """A viewer's receive-only peer whose estimate the test sets: its receiver's own
    estimator is silenced, and the REMB it sends is the one given."""

    def __init__(self) -> None:
        self.peer = CapturingPeer(1)
        self.estimate: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._remb())

    async def _remb(self) -> None:
        receiver = next(t for t in self.peer.pc.getTransceivers() if t.kind == "video").receiver
        while True:
            receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
            if self.estimate is not None:
                aiortc_hook.send_remb(receiver, self.estimate)
            await asyncio.sleep(0.25)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.peer.close()


async def until(check: Any, within: float, why: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, why
        await asyncio.sleep(0.1)


async def test_each_viewer_gets_the_layer_its_link_carries(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    host = await login_client(server.url, "specialist.central")
    status, body = await host.api("POST", "/api/teaching", {"title": "Siêu âm tim"})
    assert status == 201, body
    session = int(body["id"])
    # Chromium's own fake camera: a moving 640x480 picture, as a webcam sends.
    browser = await launch(playwright)
    sockets: list[socketio.AsyncClient] = []
    clients = [host]
    viewers = [Viewer(), Viewer()]
    try:
        presenter = await login(browser, server.url, "specialist.central")
        await presenter.goto(f"{server.url}/teaching/{session}/room")
        await presenter.get_by_test_id("prejoin-continue").click(timeout=30_000)
        await expect(presenter.get_by_test_id("local-video")).to_be_visible()
        for viewer, name in zip(viewers, ("clinician.demo", "clinician2.demo"), strict=True):
            client = await login_client(server.url, name)
            clients.append(client)
            _, token = await room_page(client, f"/teaching/{session}/room")
            sio = await room_socket(server.url, client, token)
            sockets.append(sio)
            await join_room(sio, token)
            await viewer.peer.accept(await answer_for(sio, token, await viewer.peer.offer()))
            viewer.start()
        good, weak = viewers
        good.estimate = weak.estimate = 3_000_000
        # The presenter's browser sends three layers (its own statistics say so).
        layers: list[str] = []
        deadline = time.monotonic() + 20
        while layers != ["h", "l"] and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            layers = await presenter.evaluate(
                """async () => {
                  const stats = await window.consultRoom.stats();
                  return stats.filter((s) => s.type === 'outbound-rtp' && s.kind === 'video'
                    && s.rid && s.bytesSent > 0).map((s) => s.rid).sort();
                }"""
            )
        assert layers == ["h", "l"], layers
        await until(lambda: sizes(good.peer) and sizes(weak.peer), 30, "first key frames")
        await asyncio.sleep(2)
        top = max(sizes(good.peer), key=lambda s: s[0] * s[1])
        await until(lambda: top in sizes(weak.peer), 20, "both on the best layer")

        # The weak viewer's link falls to an Edge's: it moves down, the other stays.
        weak.estimate = 200_000
        fell = time.monotonic()
        await until(
            lambda: any(s[0] * 2 <= top[0] for s in sizes(weak.peer, fell)), 20, "weak moved down"
        )
        low = next(s for s in sizes(weak.peer, fell) if s[0] * 2 <= top[0])
        assert low[0] * low[1] * 4 <= top[0] * top[1]
        good_since = sizes(good.peer, fell)
        assert good_since and all(s == top for s in good_since), "the good viewer kept it"
        moved = time.monotonic()
        await asyncio.sleep(3)
        frames_after = [at for at, _ in weak.peer.captures[0].frames if at >= moved]
        assert len(frames_after) > 20, "the weak viewer still has a moving picture"

        # Its link comes back: it moves up again.
        weak.estimate = 3_000_000
        rose = time.monotonic()
        await until(lambda: top in sizes(weak.peer, rose), 20, "weak moved back up")
    finally:
        for viewer in viewers:
            await viewer.close()
        for sio in sockets:
            await sio.disconnect()
        for client in clients:
            await client.session.close()
        await browser.close()
