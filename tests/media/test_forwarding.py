"""Fan-out rules on real av.Packets, without a network: bounds, keyframes, throttling."""

from __future__ import annotations

import asyncio
import fractions
import tracemalloc

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.packet import Packet

from media.forwarding import (
    AUDIO_QUEUE_FRAMES,
    VIDEO_QUEUE_FRAMES,
    KeyframeRequester,
    Publication,
    Subscription,
    is_keyframe,
)

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + b"k" * 1000  # P bit 0: keyframe
DELTA = bytes([0x11, 0x02, 0x00]) + b"d" * 300


def test_keyframe_detection() -> None:
    assert is_keyframe("VP8", KEY) and not is_keyframe("VP8", DELTA)
    assert not is_keyframe("VP8", b"")
    idr = b"\x00\x00\x00\x01\x67abc\x00\x00\x00\x01\x68d\x00\x00\x01\x65slice"
    non_idr = b"\x00\x00\x00\x01\x41slice"
    assert is_keyframe("H264", idr) and not is_keyframe("H264", non_idr)
    assert is_keyframe("opus", b"\x01")


def publication(requests: list[int]) -> Publication:
    def send() -> bool:
        requests.append(1)
        return True

    return Publication("video", KeyframeRequester(send, interval=0.0))


async def test_subscriber_starts_at_a_keyframe_and_asks_for_one() -> None:
    requests: list[int] = []
    pub = publication(requests)
    sub = Subscription("video")
    pub.add(sub)
    assert requests == [1], "joining asks the publisher for a keyframe"
    pub.on_frame(VP8, DELTA, 0)
    pub.on_frame(VP8, KEY, 3000)
    pub.on_frame(VP8, DELTA, 6000)
    assert len(requests) == 2, "a dropped frame while waiting asks again"
    first, second = await sub.recv(), await sub.recv()
    assert bytes(first) == KEY and first.pts == 3000
    assert first.time_base == fractions.Fraction(1, 90000)
    assert bytes(second) == DELTA and sub.dropped == 1


async def test_a_stalled_subscriber_stays_bounded_and_skips_to_the_next_keyframe() -> None:
    requests: list[int] = []
    pub = publication(requests)
    stalled, healthy = Subscription("video"), Subscription("video")
    pub.add(stalled)
    pub.add(healthy)
    received = [0]

    async def drain() -> None:
        while True:
            await healthy.recv()
            received[0] += 1

    task = asyncio.create_task(drain())
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sent = 0
    for index in range(5000):
        pub.on_frame(VP8, KEY if index % 30 == 0 else DELTA, index * 3000)
        sent += 1
        await asyncio.sleep(0)  # the healthy sender keeps up; the stalled one never reads
        assert len(stalled._queue) <= VIDEO_QUEUE_FRAMES
    await asyncio.sleep(0)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    task.cancel()
    assert received[0] == sent, "the healthy subscriber got every frame"
    assert stalled.dropped >= sent - VIDEO_QUEUE_FRAMES - 30
    assert growth < 200_000, f"memory grew by {growth} bytes with a stalled subscriber"
    assert len(requests) > 2, "falling behind asks for a keyframe"
    # Once it resumes, the stalled one starts again at a keyframe.
    stalled._queue.clear()
    stalled._need_keyframe = True
    pub.on_frame(VP8, DELTA, 10**7)
    pub.on_frame(VP8, KEY, 10**7 + 3000)
    assert bytes(await stalled.recv()) == KEY


async def test_audio_drops_oldest_when_behind() -> None:
    pub = Publication("audio", KeyframeRequester(lambda: True))
    sub = Subscription("audio")
    pub.add(sub)
    for index in range(100):
        pub.on_frame(OPUS, bytes([index]), index * 960)
    assert len(sub._queue) == AUDIO_QUEUE_FRAMES
    assert bytes(await sub.recv()) == bytes([100 - AUDIO_QUEUE_FRAMES])


async def test_keyframe_requests_are_throttled_but_never_lost() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    def send() -> bool:
        sent.append(loop.time())
        return True

    requester = KeyframeRequester(send, interval=0.2)
    for _ in range(20):
        requester.request()
    assert len(sent) == 1 and requester.throttled == 19
    await asyncio.sleep(0.25)
    assert len(sent) == 2, "a request inside the window is sent when it ends"
    assert sent[1] - sent[0] >= 0.19
    requester.close()


async def test_source_change_continues_timestamps() -> None:
    sub = Subscription("video")
    first = Publication("video", KeyframeRequester(lambda: True))
    first.add(sub)
    first.on_frame(VP8, KEY, 900_000)
    assert (await sub.recv()).pts == 900_000
    first.remove(sub)
    second = Publication("video", KeyframeRequester(lambda: True))
    second.add(sub)
    second.on_frame(VP8, KEY, 0)
    second.on_frame(VP8, DELTA, 3000)
    assert [(await sub.recv()).pts for _ in range(2)] == [903_000, 906_000]


async def test_one_packet_object_is_shared_by_all_subscribers() -> None:
    pub = Publication("video", KeyframeRequester(lambda: True))
    subs = [Subscription("video") for _ in range(8)]
    for sub in subs:
        pub.add(sub)
    pub.on_frame(VP8, KEY, 0)
    packets = {id(sub._queue[0]) for sub in subs}
    assert len(packets) == 1
    assert isinstance(subs[0]._queue[0], Packet)
