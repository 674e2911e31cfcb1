"""The forwarder with real aiortc peers: what arrives is byte for byte what was sent."""

from __future__ import annotations

import asyncio
import tracemalloc
from functools import partial

import pytest

from media import aiortc_hook
from media import hub as hub_module
from media.hub import MediaHub
from tests.support.encoded import CapturingPeer, EncodedVideoTrack, vp8_frames
from tests.support.sfu import ROOM, contiguous_in, eventually, frames, has_frames, join, publishing


@pytest.mark.parametrize(
    "size", [(320, 240, 400), (640, 480, 2500)], ids=["one-packet-frames", "many-packet-frames"]
)
async def test_frames_arrive_byte_equal_and_a_joiner_starts_at_a_keyframe(
    hub: MediaHub, size: tuple[int, int, int]
) -> None:
    width, height, kbps = size
    video = EncodedVideoTrack(vp8_frames(width=width, height=height, kbps=kbps))
    assert max(len(f.data) for f in video.frames) > 1200 or width == 320
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    await eventually(lambda: publishing(hub, 1), what="the publisher's first frames")
    viewer = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: len(frames(viewer)) >= 60, what="60 forwarded frames")
        got = frames(viewer)
        assert got[0][0] & 0x01 == 0, "the first forwarded frame is a keyframe"
        assert contiguous_in(got, video.sent), "forwarded frames differ from those sent"
        assert video.keyframe_requests >= 1, "a joining subscriber asks for a keyframe"
        await eventually(lambda: viewer.captures[0].audio_frames > 20, what="audio")
        # Nothing went upstream from the receive-only viewer.
        room = hub.room(ROOM)
        assert room is not None and set(room.publications) == {(1, "audio"), (1, "video")}
    finally:
        await publisher.close()
        await viewer.close()


async def test_keyframe_requests_are_forwarded_and_throttled(hub: MediaHub) -> None:
    video = EncodedVideoTrack(vp8_frames())
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    viewer = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: len(frames(viewer)) >= 10, what="first frames")
        await asyncio.sleep(0.5)
        before = video.keyframe_requests
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        for _ in range(20):
            assert aiortc_hook.send_pli(receiver)
        await asyncio.sleep(0.5)
        asked = video.keyframe_requests - before
        assert 1 <= asked <= 3, f"20 PLIs within a moment reached the publisher {asked} times"
    finally:
        await publisher.close()
        await viewer.close()


async def test_a_late_joiner_gets_a_decodable_picture_within_half_a_second(hub: MediaHub) -> None:
    # A long GOP: without our keyframe request the next keyframe is 10 s away.
    video = EncodedVideoTrack(vp8_frames(count=300, gop=300))
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    early = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: len(frames(early)) >= 45, what="the early viewer's frames")
        late = await join(hub, 3, CapturingPeer(1), [1], publish=False)
        try:
            await eventually(lambda: bool(frames(late)), what="the late joiner's first frame")
            assert late.connected_at is not None
            first_at, first = late.captures[0].frames[0]
            assert first[0] & 0x01 == 0, "the late joiner's first frame is a keyframe"
            assert first_at - late.connected_at < 0.5
        finally:
            await late.close()
    finally:
        await publisher.close()
        await early.close()


async def test_a_dead_subscriber_slows_nobody_and_stays_bounded(hub: MediaHub) -> None:
    video = EncodedVideoTrack(vp8_frames())
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    healthy = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    dead = await join(hub, 3, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: bool(frames(dead)) and bool(frames(healthy)), what="both")
        # The dead one's machine vanishes: it neither reads nor answers any more.
        for transceiver in dead.pc.getTransceivers():
            transport = transceiver.receiver.transport

            async def ignore(*args: object, **kwargs: object) -> None:
                return None

            transport._handle_rtp_data = ignore  # type: ignore[method-assign]
            transport._handle_rtcp_data = ignore  # type: ignore[method-assign]
            transport._send_rtp = ignore  # type: ignore[method-assign]
        tracemalloc.start()
        before_mem = tracemalloc.take_snapshot()
        sent_before, got_before = len(video.sent), len(frames(healthy))
        await asyncio.sleep(3)
        sent, got = len(video.sent) - sent_before, len(frames(healthy)) - got_before
        after_mem = tracemalloc.take_snapshot()
        tracemalloc.stop()
        assert got >= 0.95 * sent, f"healthy subscriber got {got} of {sent} frames"
        room = hub.room(ROOM)
        assert room is not None
        # Nothing queues for it: its packets go out as they come, like everyone's.
        dead_video = room.peers[3].subscriptions[(1, "video")]
        healthy_video = room.peers[2].subscriptions[(1, "video")]
        assert dead_video.packets >= 0.95 * healthy_video.packets
        # Frames captured by the healthy test peer are the only growth worth counting.
        captured = sum(len(data) for data in frames(healthy)[got_before:])
        growth = sum(s.size_diff for s in after_mem.compare_to(before_mem, "filename"))
        assert growth < captured + 3_000_000, f"memory grew {growth} bytes"
    finally:
        for peer in (publisher, healthy, dead):
            await peer.close()


async def test_three_party_room_everyone_gets_both_others(hub: MediaHub) -> None:
    tracks = {
        1: EncodedVideoTrack(vp8_frames(kbps=300)),
        2: EncodedVideoTrack(vp8_frames(kbps=500)),
        3: EncodedVideoTrack(vp8_frames(kbps=700)),
    }
    assert len({t.frames[1].data for t in tracks.values()}) == 3, "three distinct streams"
    peers = {}
    for user in (1, 2, 3):
        peers[user] = await join(hub, user, CapturingPeer(2, tracks[user]), [1, 2, 3])
    try:
        for user, peer in peers.items():
            others = sorted({1, 2, 3} - {user})
            for index, other in enumerate(others):
                await eventually(partial(has_frames, peer, index, 30), what=f"{user} <- {other}")
                assert contiguous_in(frames(peer, index), tracks[other].sent), f"{user} <- {other}"
                assert peer.captures[index].audio_frames > 10
    finally:
        for peer in peers.values():
            await peer.close()


async def test_teaching_session_two_presenters_six_viewers(hub: MediaHub) -> None:
    presenters = {
        1: EncodedVideoTrack(vp8_frames(kbps=300)),
        2: EncodedVideoTrack(vp8_frames(kbps=600)),
    }
    peers = [await join(hub, u, CapturingPeer(1, presenters[u]), [1, 2]) for u in (1, 2)]
    viewers = [await join(hub, 10 + i, CapturingPeer(2), [1, 2], publish=False) for i in range(5)]
    # A sixth viewer whose browser tries to send a camera anyway: the server refuses it.
    intruder_video = EncodedVideoTrack(vp8_frames(kbps=200))
    viewers.append(await join(hub, 16, CapturingPeer(2, intruder_video), [1, 2], publish=False))
    try:
        for viewer in viewers:
            for index, presenter in enumerate((1, 2)):
                await eventually(partial(has_frames, viewer, index, 20), what="viewer")
                assert contiguous_in(frames(viewer, index), presenters[presenter].sent)
        assert contiguous_in(frames(peers[0]), presenters[2].sent)
        assert contiguous_in(frames(peers[1]), presenters[1].sent)
        room = hub.room(ROOM)
        assert room is not None
        assert {key[0] for key in room.publications} == {1, 2}, "viewers publish nothing"
        assert intruder_video.sent == [], "the refused camera never started sending"
    finally:
        for peer in [*peers, *viewers]:
            await peer.close()


@pytest.mark.slow  # ~9 s of estimates settling
async def test_publisher_bitrate_follows_the_weakest_subscriber(hub: MediaHub) -> None:
    video = EncodedVideoTrack(vp8_frames())
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    a = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    b = await join(hub, 3, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: bool(frames(a)) and bool(frames(b)), what="frames")
        for viewer, bitrate in ((a, 900_000), (b, 400_000)):
            receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
            assert aiortc_hook.send_remb(receiver, bitrate)
        room = hub.room(ROOM)
        assert room is not None
        await eventually(lambda: hub.bitrate_cap(room, 1) == 400_000, what="cap 400k")
        # What the publisher is told ramps up from the start value, never jumps.
        assert hub_module.START_BITRATE <= 400_000
        publisher_peer = room.peers[1]
        await eventually(lambda: publisher_peer.sent_cap == 400_000, what="ramped to 400k")
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        assert aiortc_hook.send_remb(receiver, 10_000)
        await eventually(
            lambda: hub.bitrate_cap(room, 1) == hub.settings.bitrate_floor, what="floor"
        )
        await eventually(
            lambda: publisher_peer.sent_cap == hub.settings.bitrate_floor, what="down at once"
        )
    finally:
        for peer in (publisher, a, b):
            await peer.close()


def test_a_lossy_leg_counts_less_than_its_estimate() -> None:
    assert hub_module._leg_estimate(800_000, 0.05) == 800_000, "within the tolerance"
    assert hub_module._leg_estimate(800_000, 0.30) == 680_000, "cut by half the loss"


async def test_the_publishers_uplink_is_measured_and_caps_it(hub: MediaHub) -> None:
    """The receive-side estimate of the publisher's own uplink runs (silenced) and the
    cap never exceeds it; each subscriber's loss reports reach the hub."""
    video = EncodedVideoTrack(vp8_frames(kbps=300))
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    viewer = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    try:
        room = hub.room(ROOM)
        assert room is not None
        uplink = room.peers[1].uplink
        assert uplink is not None
        await eventually(lambda: uplink.bitrate is not None, what="an uplink estimate")
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        assert aiortc_hook.send_remb(receiver, hub.settings.bitrate_ceiling)
        await eventually(lambda: 1 in room.peers[2].remb, what="the viewer's REMB")
        assert uplink.bitrate is not None
        assert hub.bitrate_cap(room, 1) <= max(uplink.bitrate, hub.settings.bitrate_floor)
        await eventually(lambda: 1 in room.peers[2].loss, within=15, what="a receiver report")
        assert 0.0 <= room.peers[2].loss[1] <= 1.0
    finally:
        for peer in (publisher, viewer):
            await peer.close()


async def test_a_new_publisher_starts_low_and_is_never_told_the_ceiling_at_once(
    hub: MediaHub,
) -> None:
    """With no subscriber estimate yet the cap was the 1.5 Mbit/s ceiling, which
    flooded a slow downlink at the start of every call."""
    video = EncodedVideoTrack(vp8_frames())
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    try:
        room = hub.room(ROOM)
        assert room is not None
        await eventually(lambda: room.peers[1].sent_cap is not None, what="a first REMB")
        first = room.peers[1].sent_cap
        assert first is not None and first <= hub_module.START_BITRATE * 1.2
        assert first < hub.settings.bitrate_ceiling
    finally:
        await publisher.close()
