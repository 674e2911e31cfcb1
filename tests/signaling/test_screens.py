"""A presenter's shared screen over the real app and real aiortc peers: a second picture
every viewer receives after the presenter's camera, stopped by the presenter, by their
leaving, and refused where it does not belong."""

from __future__ import annotations

from typing import Any

from aiortc import (
    RTCPeerConnection,
    RTCSessionDescription,
)

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
from tests.support.peers import ClientPeer, Colour, ColourTrack, Viewer, near

CAMERA: Colour = (220, 40, 40)
SLIDES: Colour = (40, 40, 220)


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
