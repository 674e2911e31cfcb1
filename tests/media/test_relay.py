"""A relay between two media hubs (an origin node's and an edge node's, here in one
process): the edge takes the presenter's audio and video once, over one aiortc peer
connection, and forwards them to its own viewers; a viewer's key-frame request on the
edge reaches the presenter; a new source (a shared screen) comes with a new relay that
the viewers' subscriptions follow. Real aiortc peers, pixels checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCSessionDescription

from media.hub import MediaHub
from tests.media.test_hub import wait_until
from tests.support.peers import ClientPeer, Colour, Viewer, near

ROOM = "teaching:3"
PRESENTER, VIEWER_A, VIEWER_B = 1, 7, 8
RELAY = -(2**40) - 1
GREEN: Colour = (40, 200, 40)


@pytest.fixture
async def edge() -> AsyncIterator[MediaHub]:
    media = MediaHub()
    yield media
    await media.close()


async def relay(origin: MediaHub, edge: MediaHub, sources: list[int]) -> None:
    offer = await edge.relay_offer(ROOM, RELAY, sources)
    answer = await origin.handle_offer(ROOM, RELAY, offer, receive_from=sources, publish=False)
    await edge.relay_answer(ROOM, RELAY, answer)


async def watch(hub: MediaHub, user: int, pictures: int, sources: list[int]) -> Viewer:
    viewer = Viewer(pictures)
    await viewer.pc.setLocalDescription(await viewer.pc.createOffer())
    answer = await hub.handle_offer(
        ROOM, user, viewer.pc.localDescription.sdp, receive_from=sources, publish=False
    )
    await viewer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return viewer


async def test_an_edge_node_relays_the_presenter_to_its_viewers(
    hub: MediaHub, edge: MediaHub
) -> None:
    origin = hub
    presenter = ClientPeer(GREEN)
    viewers: list[Viewer] = []
    try:
        await presenter.accept(
            await origin.handle_offer(ROOM, PRESENTER, await presenter.offer(), [])
        )
        await relay(origin, edge, [PRESENTER])
        viewers.append(await watch(edge, VIEWER_A, 1, [PRESENTER]))
        await wait_until(lambda: near(viewers[0].colour(0), GREEN))

        # Once from the origin, whatever the viewers on the edge: the origin forwards
        # to the presenter's one relay peer, the edge to its two viewers. The second
        # viewer starts at a key frame the presenter is asked for through the relay
        # (throttled on both nodes, never lost).
        room = origin.room(ROOM)
        assert room is not None
        asked = room.publications[(PRESENTER, "video")].requester
        before = asked.sent
        viewers.append(await watch(edge, VIEWER_B, 1, [PRESENTER]))
        await wait_until(lambda: near(viewers[1].colour(0), GREEN))
        assert set(room.peers) == {PRESENTER, RELAY}
        assert edge.tracks() == (2, 4), "audio and video published once, forwarded twice"
        await wait_until(lambda: asked.sent > before, 3)

        # The relay lost and built again: the edge's viewers follow it on their own.
        await edge.leave(ROOM, RELAY)
        await origin.leave(ROOM, RELAY)
        for viewer in viewers:
            viewer.last.clear()
        await relay(origin, edge, [PRESENTER])
        await wait_until(lambda: all(near(v.colour(0), GREEN) for v in viewers))
    finally:
        await presenter.close()
        for viewer in viewers:
            await viewer.close()
