"""A presenter's shared screen over the real app and real aiortc peers: a second picture
every viewer receives after the presenter's camera, stopped by the presenter, by their
leaving, and refused where it does not belong."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from consult_server.app import MEDIA as MEDIA_HUB
from tests.signaling.test_socket_api import (
    accepted_consult,
    collect,
    connect,
    token_for,
    until,
    user_id,
)
from tests.signaling.test_teaching import token
from tests.support.inproc import Harness
from tests.support.peers import ClientPeer, Colour, ColourTrack

CAMERA: Colour = (220, 40, 40)
SLIDES: Colour = (40, 40, 220)


def near(actual: Colour | None, expected: Colour, tolerance: int = 40) -> bool:
    return actual is not None and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


class Viewer:
    """A viewer's browser: receive-only transceiver pairs, one per picture, and the
    last frame of each picture by its place in the room state's order."""

    def __init__(self, pictures: int) -> None:
        # One transport for every picture, as browsers bundle.
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        for kind in ("audio", "video"):
            for _ in range(pictures):
                self.pc.addTransceiver(kind, direction="recvonly")
        self.last: dict[int, VideoFrame] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            return
        videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        place = next(i for i, t in enumerate(videos) if t.receiver.track is track)
        self._tasks.append(asyncio.create_task(self._drain(place, track)))

    async def _drain(self, place: int, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.last[place] = frame
        except MediaStreamError:
            return

    def colour(self, place: int) -> Colour | None:
        frame = self.last.get(place)
        if frame is None:
            return None
        image = frame.to_ndarray(format="rgb24")
        r, g, b = image[image.shape[0] // 2, image.shape[1] // 2]
        return int(r), int(g), int(b)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


async def offer(sio: Any, event: str, tok: str, pc: RTCPeerConnection) -> dict[str, Any]:
    await pc.setLocalDescription(await pc.createOffer())
    payload = {"token": tok, "type": "offer", "sdp": pc.localDescription.sdp}
    reply: dict[str, Any] = await sio.call(event, payload, timeout=20)
    if reply.get("ok"):
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    return reply


async def test_a_shared_screen_reaches_viewers_as_a_second_picture(harness: Harness) -> None:
    host = await harness.login("specialist.central")
    viewer = await harness.login("clinician2.demo")
    status, body = await host.api("POST", "/api/teaching", {"title": "Đọc điện tim"})
    assert status == 201
    session = body["id"]
    host_id = await user_id(harness, "specialist.central")
    viewer_id = await user_id(harness, "clinician2.demo")
    host_token = token(harness, host_id, session, "presenter")
    viewer_token = token(harness, viewer_id, session, "viewer")
    host_io = await connect(harness, host, {"join_token": host_token})
    viewer_io = await connect(harness, viewer, {"join_token": viewer_token})
    states = collect(viewer_io, "room:state")
    camera = ClientPeer(CAMERA)
    screen = RTCPeerConnection()
    screen.addTransceiver(ColourTrack(SLIDES), direction="sendonly")
    watcher = Viewer(pictures=2)
    try:
        assert (await host_io.call("room:join", {"token": host_token}))["ok"]
        assert (await offer(host_io, "room:offer", host_token, camera.pc))["ok"]
        assert (await viewer_io.call("room:join", {"token": viewer_token}))["ok"]

        # A viewer may not share; the presenter's screen comes after the people.
        refused = await offer(viewer_io, "room:screen", viewer_token, RTCPeerConnection())
        assert refused["error"]["code"] == "not_presenter"
        assert (await offer(host_io, "room:screen", host_token, screen))["ok"]
        await until(lambda: bool(states) and states[-1]["publishers"] == [host_id, -host_id])
        shown = {p["user_id"]: p for p in states[-1]["participants"]}
        assert shown[-host_id]["screen_of"] == host_id
        assert shown[-host_id]["name"] == shown[host_id]["name"]
        assert states[-1]["viewers"] == 1

        # The viewer's page builds its connection for both pictures: the camera first.
        assert (await offer(viewer_io, "room:offer", viewer_token, watcher.pc))["ok"]
        await until(lambda: near(watcher.colour(0), CAMERA) and near(watcher.colour(1), SLIDES), 20)

        # Stopped: gone from the state and from the media hub; the camera goes on.
        hub = harness.app[MEDIA_HUB]
        assert hub.stats()["peers"] == 3
        assert (await host_io.call("room:screen_stop", {"token": host_token}))["ok"]
        await until(lambda: states[-1]["publishers"] == [host_id])
        assert -host_id not in {p["user_id"] for p in states[-1]["participants"]}
        assert hub.stats()["peers"] == 2
        watcher.last.clear()
        await until(lambda: near(watcher.colour(0), CAMERA), 10)

        # Shared again, then the presenter leaves: the screen stops with them.
        screen2 = RTCPeerConnection()
        screen2.addTransceiver(ColourTrack(SLIDES), direction="sendonly")
        assert (await offer(host_io, "room:screen", host_token, screen2))["ok"]
        await until(lambda: states[-1]["publishers"] == [host_id, -host_id])
        await until(lambda: near(watcher.colour(1), SLIDES), 10)
        assert (await host_io.call("room:leave", {"token": host_token}))["ok"]
        await until(lambda: states[-1]["publishers"] == [host_id])
        assert hub.stats()["peers"] == 1
        await screen2.close()
    finally:
        await viewer_io.disconnect()
        await host_io.disconnect()
        await camera.close()
        await screen.close()
        await watcher.close()


async def test_a_consult_room_takes_no_shared_screen(harness: Harness) -> None:
    clinician, _, consult_id = await accepted_consult(harness)
    consult_token = token_for(
        harness, await user_id(harness, "clinician.demo"), consult_id, "clinician"
    )
    sio = await connect(harness, clinician, {"join_token": consult_token})
    try:
        assert (await sio.call("room:join", {"token": consult_token}))["ok"]
        refused = await offer(sio, "room:screen", consult_token, RTCPeerConnection())
        assert refused["error"]["code"] == "screens_unavailable"
        assert harness.app[MEDIA_HUB].stats()["peers"] == 0
    finally:
        await sio.disconnect()
