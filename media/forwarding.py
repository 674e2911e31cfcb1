"""Encoded-frame fan-out: one publisher track to many subscriber senders, no codec work.

A ``Publication`` receives each complete encoded frame of one published track (from
``aiortc_hook``) and hands the same ``av.Packet`` to every ``Subscription``. A
subscription is the ``MediaStreamTrack`` a subscriber's ``RTCRtpSender`` reads; the
sender only re-packetizes it (``encoder.pack``).

Rules on the hot path (every frame, thousands of packets a second):
- bounded queues everywhere; a subscriber that falls behind drops what it has and
  waits for the next keyframe instead of queueing (video), or drops the oldest (audio);
- a video subscription starts at a keyframe, and asks for one when it (re)starts and
  again with every frame it must drop while it waits;
- keyframe requests to the publisher are throttled, and a request that falls inside
  the throttle window is sent when it ends, never lost.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.packet import Packet

#: Frames a subscriber may hold before it is "behind" (video ~0.25 s at 30 fps).
VIDEO_QUEUE_FRAMES = 8
#: Audio frames kept (20 ms each); older ones are dropped when a sender stalls.
AUDIO_QUEUE_FRAMES = 25
#: At most one keyframe request per publisher in this many seconds.
PLI_INTERVAL = 0.3


@dataclass
class MediaTotals:
    """What this process's publications have taken in and handed on since it started
    (for /metrics): a few integer additions per frame, never per packet."""

    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    keyframe_requests: int = 0


#: The process's own totals (one media hub per process).
TOTALS = MediaTotals()


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame starts a new picture sequence."""
    if not data:
        return False
    name = codec_name.upper()
    if name == "VP8":
        # RFC 6386 9.1: the frame tag's P bit is 0 for key frames.
        return not data[0] & 0x01
    if name == "H264":
        return _h264_has_idr(data)
    return True


def _h264_has_idr(data: bytes) -> bool:
    """Annex B stream: any IDR slice (5) or SPS (7) NAL unit."""
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        nal_type = data[start + 3] & 0x1F
        if nal_type in (5, 7):
            return True
        start = data.find(b"\x00\x00\x01", start + 3)
    return False


class KeyframeRequester:
    """Throttles keyframe requests to one publisher track."""

    def __init__(self, send: Callable[[], bool], interval: float = PLI_INTERVAL) -> None:
        self._send = send
        self._interval = interval
        self._last = -1e9
        self._pending: asyncio.TimerHandle | None = None
        self.sent = 0
        self.throttled = 0

    def request(self) -> None:
        now = time.monotonic()
        wait = self._last + self._interval - now
        if wait <= 0:
            self._fire()
        elif self._pending is None:
            self.throttled += 1
            self._pending = asyncio.get_running_loop().call_later(wait, self._fire)
        else:
            self.throttled += 1

    def _fire(self) -> None:
        self._pending = None
        if self._send():
            self._last = time.monotonic()
            self.sent += 1
            TOTALS.keyframe_requests += 1

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class Subscription(MediaStreamTrack):
    """What one subscriber's sender reads: the publisher's packets, bounded."""

    def __init__(self, kind: str, on_keyframe_needed: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._video = kind == "video"
        self._limit = VIDEO_QUEUE_FRAMES if self._video else AUDIO_QUEUE_FRAMES
        self._queue: deque[Packet[Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._need_keyframe = self._video
        self._on_keyframe_needed = on_keyframe_needed
        #: Output timestamps continue across publisher changes (reconnects).
        self._offset = 0
        self._last_pts: int | None = None
        self._rebase = False
        self.delivered = 0
        self.dropped = 0

    def set_keyframe_callback(self, callback: Callable[[], None] | None) -> None:
        self._on_keyframe_needed = callback

    def wait_for_keyframe(self) -> None:
        """The publisher lost a frame: forward nothing until its next keyframe."""
        if self._video:
            self.dropped += len(self._queue)
            self._queue.clear()
            self._need_keyframe = True

    def restart(self) -> None:
        """The source changed: drop what is queued, start again at a keyframe."""
        self.dropped += len(self._queue)
        self._queue.clear()
        self._need_keyframe = self._video
        self._rebase = True
        if self._video and self._on_keyframe_needed is not None:
            self._on_keyframe_needed()

    def push(self, packet: Packet[Any], keyframe: bool) -> None:
        if self.readyState != "live":
            return
        if self._need_keyframe:
            if not keyframe:
                self.dropped += 1
                # Keep asking until one comes: a publisher may drop a request that
                # arrives too soon after its last key frame (the throttle bounds this).
                if self._on_keyframe_needed is not None:
                    self._on_keyframe_needed()
                return
            self._need_keyframe = False
        queue = self._queue
        if len(queue) >= self._limit:
            if self._video and not keyframe:
                # Behind: skip to the next keyframe rather than send a stale backlog.
                self.dropped += len(queue) + 1
                queue.clear()
                self._need_keyframe = True
                if self._on_keyframe_needed is not None:
                    self._on_keyframe_needed()
                return
            self.dropped += len(queue) if self._video else 1
            if self._video:
                queue.clear()
            else:
                queue.popleft()
        queue.append(packet)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def recv(self) -> Packet[Any]:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        packet = self._queue.popleft()
        self.delivered += 1
        return self._retime(packet)

    def _retime(self, packet: Packet[Any]) -> Packet[Any]:
        pts = packet.pts or 0
        if self._rebase:
            self._rebase = False
            if self._last_pts is not None:
                step = 3000 if self._video else 960
                self._offset = self._last_pts + step - pts
        if self._offset:
            # The packet object is shared by every subscriber: copy before changing it.
            copy = Packet(bytes(packet))
            copy.pts = pts + self._offset
            copy.time_base = packet.time_base
            packet = copy
        self._last_pts = pts + self._offset
        return packet

    def stop(self) -> None:
        super().stop()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Publication:
    """One published track's frames, fanned out to its subscriptions."""

    def __init__(self, kind: str, requester: KeyframeRequester) -> None:
        self.kind = kind
        self.requester = requester
        self.subscriptions: list[Subscription] = []
        #: Also handed every frame: recorders, as (data, rtp timestamp, keyframe).
        self.sinks: list[Callable[[bytes, int, bool], None]] = []
        self.codec_name = ""
        self._time_base = fractions.Fraction(1, 90_000)
        self._clock_rate = 0
        self.frames = 0
        self.keyframes = 0

    def add(self, subscription: Subscription) -> None:
        if subscription not in self.subscriptions:
            self.subscriptions.append(subscription)
            subscription.set_keyframe_callback(self.requester.request)
            subscription.restart()

    def remove(self, subscription: Subscription) -> None:
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
            subscription.set_keyframe_callback(None)

    def on_frame(self, codec: RTCRtpCodecParameters, data: bytes, timestamp: int) -> None:
        """One complete encoded frame from the publisher (event loop, hot path)."""
        if codec.clockRate != self._clock_rate:
            self._clock_rate = codec.clockRate
            self._time_base = fractions.Fraction(1, codec.clockRate)
            self.codec_name = codec.name
        video = self.kind == "video"
        keyframe = not video or is_keyframe(self.codec_name, data)
        self.frames += 1
        if keyframe and video:
            self.keyframes += 1
        size = len(data)
        fanout = len(self.subscriptions)
        totals = TOTALS
        totals.frames_in += 1
        totals.bytes_in += size
        totals.frames_out += fanout
        totals.bytes_out += size * fanout
        for sink in self.sinks:
            sink(data, timestamp, keyframe)
        if not fanout:
            return
        packet = Packet(data)
        packet.pts = timestamp
        packet.time_base = self._time_base
        for subscription in self.subscriptions:
            subscription.push(packet, keyframe)

    def lost(self) -> None:
        """A frame of this publication was lost for good (see media.assembler)."""
        for subscription in self.subscriptions:
            subscription.wait_for_keyframe()

    def close(self) -> None:
        self.requester.close()
        for subscription in list(self.subscriptions):
            self.remove(subscription)
