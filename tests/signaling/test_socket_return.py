"""Only the signaling socket dropped (its pings lost on a saturated uplink, a proxy's
idle timeout): the media goes on. The join that takes the seat back says the server
still has this participant's peer, so the page keeps its peer connection instead of
rebuilding it (a rebuild costs seconds of sound on a weak link). Real aiortc peers."""

from __future__ import annotations

from consult_server.app import MEDIA as MEDIA_HUB
from tests.signaling.test_screens import offer
from tests.signaling.test_socket_api import (
    accepted_consult,
    collect,
    connect,
    token_for,
    until,
    user_id,
)
from tests.support.inproc import Harness
from tests.support.peers import ClientPeer, Colour, near

RED: Colour = (220, 40, 40)
GREEN: Colour = (40, 200, 40)


async def test_a_socket_back_keeps_the_media_it_never_lost(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    a_id = await user_id(harness, "clinician.demo")
    b_id = await user_id(harness, "specialist.demo")
    ta = token_for(harness, a_id, consult_id, "clinician")
    tb = token_for(harness, b_id, consult_id, "specialist")
    key = f"consult:{consult_id}"
    hub = harness.app[MEDIA_HUB]
    a_io = await connect(harness, clinician)
    b_io = await connect(harness, specialist)
    states = collect(b_io, "room:state")
    a, b = ClientPeer(RED), ClientPeer(GREEN)
    try:
        first = await a_io.call("room:join", {"token": ta})
        assert first["ok"] and first["media"] is False, "no peer yet: the page builds one"
        assert (await b_io.call("room:join", {"token": tb}))["ok"]
        assert (await offer(a_io, "room:offer", ta, a.pc))["ok"]
        assert (await offer(b_io, "room:offer", tb, b.pc))["ok"]
        await until(lambda: near(b.centre_colour(), RED) and near(a.centre_colour(), GREEN), 20)
        room = hub.room(key)
        assert room is not None
        peer = room.peers[a_id]

        # The clinician's socket drops; their media does not.
        await a_io.disconnect()
        await until(lambda: _status(states[-1], a_id) == "dropped")
        seen = b.received.video_frames
        await until(lambda: b.received.video_frames >= seen + 15, 10)

        a_io = await connect(harness, clinician)
        back = await a_io.call("room:join", {"token": ta})
        assert back["ok"] and back["media"] is True, "the server still has the clinician's peer"
        await until(lambda: _status(states[-1], a_id) == "present")
        assert room.peers[a_id] is peer, "the same peer: nothing was rebuilt"
        seen = b.received.video_frames
        await until(lambda: b.received.video_frames >= seen + 15, 10)
        assert near(b.centre_colour(), RED)

        # A peer the server has lost (here: the browser closed it) is not kept.
        await a.pc.close()
        await until(lambda: a_id not in room.peers or room.peers[a_id].lost, 10)
        await a_io.disconnect()
        a_io = await connect(harness, clinician)
        again = await a_io.call("room:join", {"token": ta})
        assert again["ok"] and again["media"] is False
    finally:
        await a_io.disconnect()
        await b_io.disconnect()
        await a.close()
        await b.close()


def _status(state: dict[str, object], user: int) -> object:
    participants = state["participants"]
    assert isinstance(participants, list)
    return next((p["status"] for p in participants if p["user_id"] == user), None)
