"""Lost packets repaired, with real aiortc peers: a packet lost on a subscriber's leg
comes again from the server's cache; one lost between the publisher and the server is
asked for again and forwarded late. No key frame is needed for either."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from media.hub import MediaHub
from media.layer import Layer
from media.subscription import Subscription
from tests.support.encoded import CapturingPeer, EncodedVideoTrack, vp8_frames
from tests.support.sfu import ROOM, contiguous_in, eventually, frames, join

#: Every this many video packets, the first copy of one is lost.
EVERY = 20


class Loss:
    """Loses the first copy of every ``EVERY``-th large (video) RTP packet; lets a
    second copy of it through (plain, or RTX: another payload type and SSRC)."""

    def __init__(self) -> None:
        self.count = 0
        self.lost: set[int] = set()
        self.again: set[int] = set()
        self.video_type: int | None = None

    def keep(self, data: bytes) -> bool:
        if len(data) < 600 or 191 < data[1] < 209:
            return True  # audio, RTCP
        payload_type = data[1] & 0x7F
        seq = int.from_bytes(data[2:4], "big")
        if self.video_type is None:
            self.video_type = payload_type
        if payload_type != self.video_type:  # RTX: the original number leads the payload
            extension = 4 + 4 * int.from_bytes(data[14:16], "big") if data[0] & 0x10 else 0
            self.again.add(int.from_bytes(data[12 + extension : 14 + extension], "big"))
            return True
        if seq in self.lost:
            self.again.add(seq)
            return True
        self.count += 1
        if self.count % EVERY == 0:
            self.lost.add(seq)
            return False
        return True


def video_transport(peer: CapturingPeer) -> object:
    return next(t for t in peer.pc.getTransceivers() if t.kind == "video").receiver.transport


async def run_with_losses(
    hub: MediaHub, lose: Callable[[CapturingPeer, CapturingPeer, Loss], None]
) -> tuple[Loss, CapturingPeer, EncodedVideoTrack]:
    video = EncodedVideoTrack(vp8_frames(width=640, height=480, kbps=2500, count=90))
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    viewer = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    loss = Loss()
    try:
        await eventually(lambda: len(frames(viewer)) >= 15, what="first frames")
        requests, got_before = video.keyframe_requests, len(frames(viewer))
        sent_before = len(video.sent)
        lose(publisher, viewer, loss)
        await asyncio.sleep(1.5)
        lose_nothing(publisher, viewer)
        await asyncio.sleep(0.5)
        got = frames(viewer)[got_before:]
        sent = len(video.sent) - sent_before
        assert len(loss.lost) >= 8, f"only {len(loss.lost)} packets were lost"
        assert loss.again >= loss.lost, "every lost packet came again"
        assert len(got) >= sent - 20, f"{len(got)} of {sent} frames arrived"
        assert contiguous_in(got, video.sent), "frames missing or altered"
        assert video.keyframe_requests - requests <= 1, "losses were repaired by key frames"
        return loss, viewer, video
    finally:
        await publisher.close()
        await viewer.close()


def lose_nothing(publisher: CapturingPeer, viewer: CapturingPeer) -> None:
    for peer in (publisher, viewer):
        transport = video_transport(peer)
        for name in ("_handle_rtp_data", "_send_rtp"):
            vars(transport).pop(name, None)


async def test_a_packet_lost_on_the_way_to_a_subscriber_comes_again(hub: MediaHub) -> None:
    legs: list[Subscription] = []

    def lose(publisher: CapturingPeer, viewer: CapturingPeer, loss: Loss) -> None:
        room = hub.room(ROOM)
        assert room is not None
        legs.append(room.peers[2].subscriptions[(1, "video")])
        transport = video_transport(viewer)
        original: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data  # type: ignore[attr-defined]

        async def lossy(data: bytes, arrival_time_ms: int) -> None:
            if loss.keep(data):
                await original(data, arrival_time_ms)

        transport._handle_rtp_data = lossy  # type: ignore[attr-defined]

    loss, _, _ = await run_with_losses(hub, lose)
    assert legs[0].resent >= len(loss.lost), "each came from the server's cache"


async def test_a_packet_lost_on_the_way_in_is_asked_for_again(hub: MediaHub) -> None:
    recovered: list[int] = []
    layers: list[Layer] = []

    def lose(publisher: CapturingPeer, viewer: CapturingPeer, loss: Loss) -> None:
        transport = video_transport(publisher)
        original: Callable[[bytes], Awaitable[None]] = transport._send_rtp  # type: ignore[attr-defined]

        async def lossy(data: bytes) -> None:
            if loss.keep(data):
                await original(data)

        transport._send_rtp = lossy  # type: ignore[attr-defined]
        room = hub.room(ROOM)
        assert room is not None
        layer = room.publications[(1, "video")].top()
        assert layer is not None and layer.resend is not None
        recovered.append(layer.resend.recovered)
        layers.append(layer)

    loss, _, _ = await run_with_losses(hub, lose)
    resend = layers[0].resend
    assert resend is not None
    assert resend.recovered - recovered[0] >= len(loss.lost), "each hole was asked and filled"
