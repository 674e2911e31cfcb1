"""Packet forwarding: one publisher track to many subscriber legs, no codec work.

A ``Publication`` takes each RTP packet of one published track as it arrives (from
``aiortc_packets.Datagrams``) and hands it to every ``Subscription``, which rewrites
the header for its leg (sequence number, timestamp, SSRC, payload type, its own header
extensions) and sends it: the payload is never copied per subscriber, parsed into
frames or re-packetized (Janus's way).

Rules on the hot path (every packet, thousands a second):
- a video subscription starts at the first packet of a key frame, and asks for one
  (throttled) with every frame it must skip while it waits; its sequence numbers and
  timestamps continue across sources (a publisher's reconnect), with no gap;
- recent video packets are kept (``CACHE_PACKETS`` per publication, shared by every
  subscriber) to answer a subscriber's NACK, as RTX where its browser negotiated it;
- a hole in what the publisher sends is asked for again (``media.resend``), and the
  late packet forwarded into the hole; a key frame is asked for only when that fails;
- keyframe requests to the publisher are throttled, and a request that falls inside
  the throttle window is sent when it ends, never lost;
- a recorded publication also assembles frames (``media.assembler``) for its sinks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import depayload
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media import rtp
from media.aiortc_hook import UplinkEstimate
from media.aiortc_packets import Leg, ReceiveStats
from media.assembler import FrameAssembler
from media.latency import FORWARD_LATENCY
from media.resend import Resend

#: At most one keyframe request per publisher in this many seconds.
PLI_INTERVAL = 0.3
#: Video packets kept per publication for retransmission (~6 s at 1.5 Mbit/s).
CACHE_PACKETS = 1024
#: Sequence numbers a subscription remembers, to map its NACKs back to the source's.
RING_PACKETS = 1024

_CACHE_MASK = CACHE_PACKETS - 1
_RING_MASK = RING_PACKETS - 1
_HEADER = rtp.HEADER


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


class Subscription(MediaStreamTrack):
    """One subscriber's leg of one publisher's track.

    It is the track its ``RTCRtpSender`` was given (for negotiation; ``recv`` never
    yields a frame): packets go out through ``forward``, written for this leg."""

    def __init__(self, kind: str, on_keyframe_needed: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._video = kind == "video"
        self._clock = 90_000 if self._video else 48_000
        self._on_keyframe_needed = on_keyframe_needed
        self._ended: asyncio.Future[None] | None = None
        self._sender: RTCRtpSender | None = None
        self._transceiver: RTCRtpTransceiver | None = None
        self._leg: Leg | None = None
        self.source: Publication | None = None
        #: Waiting to start (video: at a key frame's first packet).
        self._need_start = True
        self._seq_offset = 0
        self._ts_offset = 0
        self._start_seq = 0
        self._last_seq: int | None = None
        self._last_ts = 0
        self._last_time = 0.0
        self._ring = [-1] * RING_PACKETS
        self._rtx_seq = random.getrandbits(16)
        self.packets = 0
        self.octets = 0
        #: Frames sent (video: marker packets; audio: packets) and skipped while waiting.
        self.delivered = 0
        self.dropped = 0
        self.resent = 0

    def attach(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver | None) -> None:
        self._sender = sender
        self._transceiver = transceiver

    def set_keyframe_callback(self, callback: Callable[[], None] | None) -> None:
        self._on_keyframe_needed = callback

    def restart(self) -> None:
        """The source changed: start again (video at a key frame), continuing this
        leg's sequence numbers and timestamps."""
        self._need_start = True
        self._ring = [-1] * RING_PACKETS
        if self._video and self._on_keyframe_needed is not None:
            self._on_keyframe_needed()

    def forward(
        self,
        first: int,
        marker: int,
        seq: int,
        ts: int,
        payload: bytes,
        abs_time: bytes,
        key: bool,
        now: float,
    ) -> None:
        """One packet of the source (hot path)."""
        if self._need_start:
            if not key and self._video:
                if marker:
                    self.dropped += 1
                    if self._on_keyframe_needed is not None:
                        self._on_keyframe_needed()
                return
            if self._leg is None and not self._connect():
                return
            self._start(seq, ts, now)
        else:
            since = (seq - self._start_seq) & 0xFFFF
            if since >= 0x8000:
                return  # from before this leg started
            if since > 0x4000:  # keep the mark within reach of the wrap
                self._start_seq = (seq - 0x2000) & 0xFFFF
        leg = self._leg
        assert leg is not None
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        header = _HEADER.pack(
            leg.first | (first & 0x20), marker | leg.payload_type, out_seq, out_ts, leg.ssrc
        )
        if leg.abs_send_time:
            leg.send(b"".join((header, leg.head, abs_time, leg.tail, payload)))
        else:
            leg.send(b"".join((header, leg.head, leg.tail, payload)))
        self._ring[out_seq & _RING_MASK] = (out_seq << 16) | seq
        self.packets += 1
        self.octets += len(payload)
        assert self._last_seq is not None
        if (out_seq - self._last_seq) & 0xFFFF < 0x8000:
            self._last_seq, self._last_ts, self._last_time = out_seq, out_ts, now
        if marker or not self._video:
            self.delivered += 1
            leg.sent(out_ts, self.packets, self.octets, now)

    def _connect(self) -> bool:
        if self._sender is None:
            return False
        self._leg = Leg.of(self._sender, self._transceiver)
        return self._leg is not None

    def _start(self, seq: int, ts: int, now: float) -> None:
        if self._last_seq is None:
            self._seq_offset = (random.getrandbits(16) - seq) & 0xFFFF
            self._ts_offset = (random.getrandbits(32) - ts) & 0xFFFFFFFF
            self._last_seq = (seq + self._seq_offset - 1) & 0xFFFF
        else:
            self._seq_offset = (self._last_seq + 1 - seq) & 0xFFFF
            ticks = max(1, int((now - self._last_time) * self._clock))
            self._ts_offset = (self._last_ts + ticks - ts) & 0xFFFFFFFF
        self._start_seq = seq
        self._need_start = False

    def retransmit(self, lost: list[int]) -> None:
        """The subscriber's NACK: resend what it lists from the source's cache (RTX
        when negotiated). A packet the server never had is on its way (asked for
        again upstream) and goes out when it comes."""
        leg, source = self._leg, self.source
        if leg is None or source is None or self._need_start:
            return
        abs_time = rtp.abs_send_time().to_bytes(3, "big")
        for out_seq in lost:
            held = self._ring[out_seq & _RING_MASK]
            if held < 0 or held >> 16 != out_seq:
                continue
            data = source.cached(held & 0xFFFF)
            if data is None:
                continue
            first = data[0]
            offset = rtp.payload_offset(data, first)
            if offset < 0:
                continue
            out_ts = (_HEADER.unpack_from(data)[3] + self._ts_offset) & 0xFFFFFFFF
            marker = data[1] & 0x80
            if leg.rtx_payload_type is not None:
                header = _HEADER.pack(
                    leg.first | (first & 0x20),
                    marker | leg.rtx_payload_type,
                    self._rtx_seq,
                    out_ts,
                    leg.rtx_ssrc,
                )
                self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
                payload = out_seq.to_bytes(2, "big") + data[offset:]
            else:
                header = _HEADER.pack(
                    leg.first | (first & 0x20), marker | leg.payload_type, out_seq, out_ts, leg.ssrc
                )
                payload = data[offset:]
            if leg.abs_send_time:
                leg.send(b"".join((header, leg.head, abs_time, leg.tail, payload)))
            else:
                leg.send(b"".join((header, leg.head, leg.tail, payload)))
            self.resent += 1
            TOTALS.resent += 1

    async def recv(self) -> Any:
        # The sender's own loop waits here until the subscription ends: packets go
        # out through ``forward`` instead.
        if self.readyState == "live":
            self._ended = asyncio.get_running_loop().create_future()
            await self._ended
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        ended = self._ended
        if ended is not None and not ended.done():
            ended.set_result(None)


class Publication:
    """One published track's packets, fanned out to its subscriptions."""

    def __init__(
        self,
        kind: str,
        source: Source | None = None,
        requester: KeyframeRequester | None = None,
    ) -> None:
        self.kind = kind
        self.video = kind == "video"
        self.source = source
        self.requester = requester or KeyframeRequester(self._send_pli)
        self.subscriptions: list[Subscription] = []
        #: Also handed every frame: recorders, as (data, rtp timestamp, keyframe).
        self.sinks: list[Callable[[bytes, int, bool], None]] = []
        self.codec_name = ""
        self.clock_rate = 0
        self.payload_type: int | None = None
        self.ssrc: int | None = None
        #: The measure of the publisher's uplink (video; set by the hub).
        self.uplink: UplinkEstimate | None = None
        self._abs_id = 0
        self._frame_bytes = 0
        self._stats: ReceiveStats | None = None
        self._cache: list[bytes | None] = [None] * CACHE_PACKETS if self.video else []
        self._cached_seq = [-1] * CACHE_PACKETS if self.video else []
        self.resend = Resend(self._send_nack, self.requester.request) if self.video else None
        self._assembler: FrameAssembler | None = None
        self._ts_last: int | None = None
        self._ts_unwrapped = 0
        self.frames = 0
        self.keyframes = 0

    # -- subscriptions -----------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        if subscription not in self.subscriptions:
            self.subscriptions.append(subscription)
            subscription.source = self
            subscription.set_keyframe_callback(self.requester.request)
            subscription.restart()

    def remove(self, subscription: Subscription) -> None:
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
            subscription.set_keyframe_callback(None)
            if subscription.source is self:
                subscription.source = None

    def cached(self, seq: int) -> bytes | None:
        slot = seq & _CACHE_MASK
        if self._cached_seq and self._cached_seq[slot] == seq:
            return self._cache[slot]
        return None

    # -- packets -----------------------------------------------------------------

    def packet(self, data: bytes, now: float) -> None:
        """One plain RTP packet from the publisher (event loop, hot path)."""
        if len(data) < 12:
            return
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        if second & 0x7F != self.payload_type or ssrc != self.ssrc:
            unwrapped = self._other(data, second & 0x7F, ssrc)
            if unwrapped is None:
                return
            data = unwrapped
            first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        offset = rtp.payload_offset(data, first)
        if offset < 0:
            return
        video = self.video
        if video:
            slot = seq & _CACHE_MASK
            if self._cached_seq[slot] == seq:
                return  # a duplicate (a resend that crossed the original)
            self._cache[slot] = data
            self._cached_seq[slot] = seq
            assert self.resend is not None
            self.resend.note(seq)
            self._frame_bytes += len(data)
        stats = self._stats
        if stats is not None:
            stats.note(seq, ts, now)
        marker = second & 0x80
        payload = data[offset:]
        key = video and rtp.keyframe_start(self.codec_name, data, offset)
        subscriptions = self.subscriptions
        fanout = len(subscriptions)
        if fanout:
            abs_time = (int(now * 262_144) & 0xFFFFFF).to_bytes(3, "big")
            for subscription in subscriptions:
                subscription.forward(first, marker, seq, ts, payload, abs_time, key, now)
            FORWARD_LATENCY.observe(time.time() - now)
        totals = TOTALS
        size = len(payload)
        totals.bytes_in += size
        totals.bytes_out += size * fanout
        if key:
            self.keyframes += 1
        if marker or not video:
            self.frames += 1
            totals.frames_in += 1
            totals.frames_out += fanout
            if video:
                self._measure_uplink(data, first, now)
        if self.sinks:
            self._record(data)
        elif self._assembler is not None:
            self._assembler = None

    def _other(self, data: bytes, payload_type: int, ssrc: int) -> bytes | None:
        """A packet that is not the known stream's: the first one, an RTX resend
        (unwrapped, RFC 4588), or a new SSRC. None: not forwarded."""
        codecs = self.source.codecs if self.source is not None else {}
        codec = codecs.get(payload_type)
        if codec is None:
            return None
        if codec.name.lower() == "rtx":
            known = self.payload_type
            if self.ssrc is None or known is None or codec.parameters.get("apt") != known:
                return None
            first = data[0]
            offset = rtp.payload_offset(data, first)
            if offset < 0 or len(data) - rtp.padding(data, first) - offset < 2:
                return None  # padding only: a bandwidth probe
            original = int.from_bytes(data[offset : offset + 2], "big")
            timestamp = _HEADER.unpack_from(data)[3]
            header = _HEADER.pack(
                0x80 | (first & 0x20),
                (data[1] & 0x80) | known,
                original,
                timestamp,
                self.ssrc,
            )
            return header + data[offset + 2 :]
        if payload_type != self.payload_type:
            self.payload_type = payload_type
            self.codec_name = codec.name
            self.clock_rate = codec.clockRate
        if ssrc != self.ssrc:
            self._new_stream(ssrc)
        return data

    def _new_stream(self, ssrc: int) -> None:
        restarted = self.ssrc is not None
        self.ssrc = ssrc
        if self.source is not None:
            self._stats = self.source.stats(ssrc, self.clock_rate or 90_000)
            self._abs_id = self.source.abs_send_time_id()
        if self.video:
            self._cached_seq = [-1] * CACHE_PACKETS
            assert self.resend is not None
            self.resend.reset()
        if restarted:
            for subscription in self.subscriptions:
                subscription.restart()

    def _measure_uplink(self, data: bytes, first: int, now: float) -> None:
        """Feed the uplink estimate once per frame (its last packet's send time, the
        frame's bytes): its delay-gradient filter works on packet groups anyway."""
        uplink = self.uplink
        if uplink is not None and self.ssrc is not None:
            sent = rtp.extension(data, first, self._abs_id)
            if sent is not None and len(sent) == 3:
                uplink.add(
                    int(now * 1000), int.from_bytes(sent, "big"), self._frame_bytes, self.ssrc
                )
        self._frame_bytes = 0

    def _record(self, data: bytes) -> None:
        codecs = self.source.codecs if self.source is not None else {}
        if self._assembler is None:
            self._assembler = FrameAssembler(self.video, None, codecs)
        try:
            packet = RtpPacket.parse(data)
            codec = codecs[packet.payload_type]
            packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        except (ValueError, KeyError):
            return
        lost, frame = self._assembler.add(packet)
        if lost:
            self.requester.request()
        if frame is None:
            return
        # The writer counts from its first timestamp: unwrap past 2^32.
        if self._ts_last is None:
            self._ts_unwrapped = frame.timestamp
        else:
            step = (frame.timestamp - self._ts_last) & 0xFFFFFFFF
            self._ts_unwrapped += step - (1 << 32) if step >= 1 << 31 else step
        self._ts_last = frame.timestamp
        keyframe = not self.video or is_keyframe(self.codec_name, frame.data)
        for sink in self.sinks:
            sink(frame.data, self._ts_unwrapped, keyframe)

    # -- feedback to the publisher -------------------------------------------------

    def _send_pli(self) -> bool:
        if self.source is None or self.ssrc is None:
            return False
        self.source.send_pli(self.ssrc)
        return True

    def _send_nack(self, lost: list[int]) -> None:
        if self.source is not None and self.ssrc is not None:
            self.source.send_nack(self.ssrc, lost)

    def send_remb(self, bitrate: int) -> bool:
        """Tell the publisher to send this track at most ``bitrate`` bits/s."""
        if self.source is None or self.ssrc is None:
            return False
        return self.source.send_remb(bitrate, [self.ssrc])

    def close(self) -> None:
        self.requester.close()
        if self.resend is not None:
            self.resend.close()
        for subscription in list(self.subscriptions):
            self.remove(subscription)
