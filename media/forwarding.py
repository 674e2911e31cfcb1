"""Packet forwarding: one publisher track to many subscriber legs, no codec work.

A ``Publication`` (``media.publication``) takes each RTP packet of one published track
as it arrives (from ``aiortc_packets.Datagrams``) and hands it to every
``Subscription`` (``media.subscription``) of the packet's layer, which rewrites
the header for its leg (sequence number, timestamp, SSRC, payload type, its own header
extensions) and sends it: the payload is never copied per subscriber, parsed into
frames or re-packetized (Janus's way).

Rules on the hot path (every packet, thousands a second):
- a video subscription starts at the first packet of a key frame, and asks for one
  (throttled) with every frame it must skip while it waits; its sequence numbers and
  timestamps continue across sources (a publisher's reconnect), with no gap;
- recent video packets are kept (``CACHE_PACKETS`` per layer, shared by every
  subscriber) to answer a subscriber's NACK, as RTX where its browser negotiated it;
- a hole in what the publisher sends is asked for again (``media.resend``), and the
  late packet forwarded into the hole; a key frame is asked for only when that fails;
- keyframe requests to the publisher are throttled, and a request that falls inside
  the throttle window is sent when it ends, never lost;
- a recorded publication also assembles frames (``media.assembler``) for its sinks.

This module holds what both sides share: the process's totals, key-frame detection on
frames and the key-frame request throttle, and what a publication needs of its source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.aiortc_packets import ReceiveStats

#: At most one keyframe request per publisher in this many seconds.
PLI_INTERVAL = 0.3


@dataclass
class MediaTotals:
    """What this process's publications have taken in and handed on since it started
    (for /metrics): a few integer additions per packet."""

    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    keyframe_requests: int = 0
    resent: int = 0


#: The process's own totals (one media hub per process).
TOTALS = MediaTotals()


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded (depayloaded) frame starts a new picture sequence."""
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


class Source(Protocol):
    """Where a publication's packets come from (``aiortc_packets.Inbound``)."""

    @property
    def codecs(self) -> Mapping[int, RTCRtpCodecParameters]: ...
    def abs_send_time_id(self) -> int: ...
    def stats(self, ssrc: int, clock_rate: int) -> ReceiveStats: ...
    def send_nack(self, ssrc: int, lost: list[int]) -> None: ...
    def send_pli(self, ssrc: int) -> None: ...
    def send_remb(self, bitrate: int, ssrcs: list[int]) -> bool: ...
