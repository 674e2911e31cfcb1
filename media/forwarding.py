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
- recent video packets are kept (``CACHE_PACKETS`` per layer, shared by every
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
from media.layer import CACHE_MASK as _CACHE_MASK
from media.layer import Layer

#: The layer a new subscription starts on: the best (a weak link falls within seconds).
START_RANK = 99
#: At most one keyframe request per publisher in this many seconds.
PLI_INTERVAL = 0.3
#: Sequence numbers a subscription remembers, to map its NACKs back to the source's.
RING_PACKETS = 1024
#: Resends per leg: at most this share of the packets it was sent in the last
#: ``RESEND_WINDOW``, and ``RESEND_FREE`` more (a burst of loss on a good link).
RESEND_SHARE = 0.2
RESEND_WINDOW = 256
RESEND_FREE = 16

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
        #: The track it is subscribed to, the layer forwarded now (None: not yet
        #: started), and the layer whose cache answers its NACKs (the same).
        self.publication: Publication | None = None
        self.layer: Layer | None = None
        self.source: Layer | None = None
        #: The layer it should be on (set by the hub from its leg's estimate).
        self.wanted_rank = START_RANK
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
        self._mark_packets = 0
        self._mark_resent = 0

    def attach(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver | None) -> None:
        self._sender = sender
        self._transceiver = transceiver

    def set_keyframe_callback(self, callback: Callable[[], None] | None) -> None:
        self._on_keyframe_needed = callback

    def restart(self, ask: bool = True) -> None:
        """The source changed: start again (video at a key frame), continuing this
        leg's sequence numbers and timestamps."""
        self._need_start = True
        self._ring = [-1] * RING_PACKETS
        if ask and self._video and self._on_keyframe_needed is not None:
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
            if self._leg is None:
                if not self._connect():
                    return
                # Connected only now: a key frame that passed before was of no use,
                # and this is the first moment one can be taken (a late joiner's
                # first picture waits one frame, not a throttled second request).
                if self._video and not key and self._on_keyframe_needed is not None:
                    self._on_keyframe_needed()
            if not key and self._video:
                if marker:
                    self.dropped += 1
                    if self._on_keyframe_needed is not None:
                        self._on_keyframe_needed()
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

    def connected(self) -> bool:
        """Whether this leg can send (its transport is up)."""
        return self._leg is not None or self._connect()

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
            if not self._may_resend():
                return  # a leg that loses this much is overloaded: resends would add to it
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

    def _may_resend(self) -> bool:
        """At most ``RESEND_SHARE`` of what the leg was sent lately goes out again."""
        since = self.packets - self._mark_packets
        if since >= RESEND_WINDOW:
            self._mark_packets, self._mark_resent, since = self.packets, self.resent, 0
        return self.resent - self._mark_resent < RESEND_FREE + RESEND_SHARE * since

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
    """One published track's packets, fanned out to its subscriptions.

    A track has one layer, or with simulcast one per quality (``media.layer``): each
    subscription is forwarded from one layer, and moves to another (``choose``) at that
    layer's next key frame, its numbers and time continuing."""

    def __init__(self, kind: str, source: Source | None = None) -> None:
        self.kind = kind
        self.video = kind == "video"
        self.source = source
        self.subscriptions: list[Subscription] = []
        #: Also handed every frame: recorders, as (data, rtp timestamp, keyframe).
        self.sinks: list[Callable[[bytes, int, bool], None]] = []
        self.codec_name = ""
        self.clock_rate = 0
        self.payload_type: int | None = None
        #: The publisher's simulcast RIDs, lowest quality first (empty: one layer).
        self.rids: tuple[str, ...] = ()
        #: The RID header extensions' ids (media RID, repaired RID), from the offer.
        self.rid_ids = (0, 0)
        self.layers: dict[int, Layer] = {}
        self._rtx: dict[int, Layer] = {}
        #: Subscriptions added before any layer exists.
        self._waiting: list[Subscription] = []
        #: The measure of the publisher's uplink (video; set by the hub).
        self.uplink: UplinkEstimate | None = None
        self._abs_id = 0
        self._frame_bytes = 0
        self._assembler: FrameAssembler | None = None
        self._recorded: Layer | None = None
        self._ts_last: int | None = None
        self._ts_unwrapped = 0
        self.frames = 0
        self.keyframes = 0

    @property
    def ssrc(self) -> int | None:
        top = self.top()
        return top.ssrc if top is not None else None

    def top(self) -> Layer | None:
        """The best layer (the only one without simulcast)."""
        return max(self.layers.values(), key=lambda layer: layer.rank, default=None)

    def ranked(self) -> list[Layer]:
        return sorted(self.layers.values(), key=lambda layer: layer.rank)

    # -- subscriptions -----------------------------------------------------------

    def add(self, subscription: Subscription, rank: int | None = None) -> None:
        """Forward this track to ``subscription`` from its next key frame on, from the
        layer of ``rank`` (None: the one it wants)."""
        if subscription in self.subscriptions:
            return
        self.subscriptions.append(subscription)
        subscription.publication = self
        subscription.set_keyframe_callback(lambda: self.request_keyframe(subscription))
        subscription.restart(ask=False)
        if not self.layers:
            self._waiting.append(subscription)
            return
        self.choose(subscription, subscription.wanted_rank if rank is None else rank, force=True)

    def top_rank(self) -> int:
        top = self.top()
        return top.rank if top is not None else 0

    def choose(self, subscription: Subscription, rank: int, force: bool = False) -> bool:
        """Move ``subscription`` to the layer of ``rank`` (or the nearest below) at that
        layer's next key frame; False when it is already there or going."""
        layers = self.ranked()
        if not layers or subscription not in self.subscriptions:
            return False
        target = next((layer for layer in reversed(layers) if layer.rank <= rank), layers[0])
        if subscription in target.joining:
            return False
        if subscription.layer is target and not force:
            for layer in layers:
                if subscription in layer.joining:
                    layer.joining.remove(subscription)
            return False
        for layer in layers:
            if subscription in layer.joining:
                layer.joining.remove(subscription)
        target.joining.append(subscription)
        if subscription.connected():
            target.requester.request()  # else: asked once it is (Subscription.forward)
        return True

    def remove(self, subscription: Subscription) -> None:
        if subscription not in self.subscriptions:
            return
        self.subscriptions.remove(subscription)
        if subscription in self._waiting:
            self._waiting.remove(subscription)
        for layer in self.layers.values():
            if subscription in layer.subscriptions:
                layer.subscriptions.remove(subscription)
            if subscription in layer.joining:
                layer.joining.remove(subscription)
        subscription.set_keyframe_callback(None)
        if subscription.publication is self:
            subscription.publication = None
            subscription.layer = None

    def request_keyframe(self, subscription: Subscription | None = None) -> None:
        """Ask for a key frame on ``subscription``'s layer (or on every layer)."""
        layer = subscription.layer if subscription is not None else None
        for each in [layer] if layer is not None else list(self.layers.values()):
            each.requester.request()

    @property
    def requester(self) -> KeyframeRequester:
        """The best layer's key-frame requests (the only one without simulcast)."""
        top = self.top()
        if top is None:
            return KeyframeRequester(lambda: False)
        return top.requester

    # -- packets -----------------------------------------------------------------

    def packet(self, data: bytes, now: float) -> None:
        """One plain RTP packet from the publisher (event loop, hot path)."""
        if len(data) < 12:
            return
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        layer = self.layers.get(ssrc)
        if layer is None or second & 0x7F != self.payload_type:
            found = self._other(data, second & 0x7F, ssrc)
            if found is None:
                return
            data, layer = found
            first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        offset = rtp.payload_offset(data, first)
        if offset < 0:
            return
        video = self.video
        if video:
            slot = seq & _CACHE_MASK
            cached_seq = layer.cached_seq
            if cached_seq[slot] == seq:
                return  # a duplicate (a resend that crossed the original)
            layer.cache[slot] = data
            cached_seq[slot] = seq
            assert layer.resend is not None
            layer.resend.note(seq)
            self._frame_bytes += len(data)
        stats = layer.stats
        if stats is not None:
            stats.note(seq, ts, now)
        marker = second & 0x80
        payload = data[offset:]
        size = len(payload)
        layer.bytes += size
        layer.last_packet_at = now
        key = video and rtp.keyframe_start(self.codec_name, data, offset)
        if layer.joining:
            if key or not video:
                self._switch(layer)
            elif marker:
                for waiting in layer.joining:
                    waiting.dropped += 1
                if any(waiting.connected() for waiting in layer.joining):
                    layer.requester.request()  # once more each frame (throttled)
        subscriptions = layer.subscriptions
        fanout = len(subscriptions)
        if fanout:
            abs_time = (int(now * 262_144) & 0xFFFFFF).to_bytes(3, "big")
            for subscription in subscriptions:
                subscription.forward(first, marker, seq, ts, payload, abs_time, key, now)
            FORWARD_LATENCY.observe(time.time() - now)
        totals = TOTALS
        totals.bytes_in += size
        totals.bytes_out += size * fanout
        if key:
            self.keyframes += 1
        if marker or not video:
            totals.frames_in += 1
            totals.frames_out += fanout
            if layer is self._recorded or self._recorded is None:
                self.frames += 1
                if video:
                    self._measure_uplink(data, first, now)
        if self.sinks:
            if layer is self._recorded or self._recorded is None:
                self._record(data, layer)
        elif self._assembler is not None:
            self._assembler = None
            self._recorded = None

    def _switch(self, layer: Layer) -> None:
        """A key frame starts on ``layer``: those waiting for it move to it now."""
        for subscription in layer.joining:
            old = subscription.layer
            if old is not None and subscription in old.subscriptions:
                old.subscriptions.remove(subscription)
            subscription.layer = layer
            subscription.source = layer
            subscription.restart(ask=False)
            layer.subscriptions.append(subscription)
        layer.joining.clear()

    def _other(self, data: bytes, payload_type: int, ssrc: int) -> tuple[bytes, Layer] | None:
        """A packet that is not of a known layer's stream: a new layer, an RTX resend
        (unwrapped, RFC 4588), a first packet. None: not forwarded."""
        codecs = self.source.codecs if self.source is not None else {}
        codec = codecs.get(payload_type)
        if codec is None:
            return None
        if codec.name.lower() == "rtx":
            return self._unwrap(data, codec, ssrc)
        if payload_type != self.payload_type:
            self.payload_type = payload_type
            self.codec_name = codec.name
            self.clock_rate = codec.clockRate
        layer = self.layers.get(ssrc)
        if layer is None:
            layer = self._new_layer(data, ssrc)
            if layer is None:
                return None
        return data, layer

    def _unwrap(
        self, data: bytes, codec: RTCRtpCodecParameters, ssrc: int
    ) -> tuple[bytes, Layer] | None:
        known = self.payload_type
        if known is None or codec.parameters.get("apt") != known:
            return None
        layer = self._rtx.get(ssrc)
        if layer is None:
            layer = self._rtx_layer(data, ssrc)
            if layer is None:
                return None
        first = data[0]
        offset = rtp.payload_offset(data, first)
        if offset < 0 or len(data) - rtp.padding(data, first) - offset < 2:
            return None  # padding only: a bandwidth probe
        original = int.from_bytes(data[offset : offset + 2], "big")
        timestamp = _HEADER.unpack_from(data)[3]
        header = _HEADER.pack(
            0x80 | (first & 0x20), (data[1] & 0x80) | known, original, timestamp, layer.ssrc
        )
        return header + data[offset + 2 :], layer

    def _rtx_layer(self, data: bytes, ssrc: int) -> Layer | None:
        """The layer an RTX stream repairs: named by its repaired-RID, or the only one."""
        rid = rtp.extension(data, data[0], self.rid_ids[1]) if self.rid_ids[1] else None
        if rid is not None:
            name = rid.decode("ascii", "replace")
            layer = next((each for each in self.layers.values() if each.rid == name), None)
        elif len(self.layers) == 1:
            layer = next(iter(self.layers.values()))
        else:
            layer = None
        if layer is not None:
            self._rtx[ssrc] = layer
        return layer

    def _new_layer(self, data: bytes, ssrc: int) -> Layer | None:
        rid: str | None = None
        if self.rids:
            found = rtp.extension(data, data[0], self.rid_ids[0]) if self.rid_ids[0] else None
            if found is None:
                return None  # not yet known: its first packets carry its RID
            rid = found.decode("ascii", "replace")
            if rid not in self.rids:
                return None
            for old in [each for each in self.layers.values() if each.rid == rid]:
                self._drop_layer(old)  # the same quality under a new SSRC
        elif self.layers:
            for old in list(self.layers.values()):  # a new stream: the publisher restarted
                self._drop_layer(old)
        source = self.source
        layer = Layer(
            ssrc,
            rid,
            self.video,
            KeyframeRequester(lambda: self._send_pli(ssrc)),
            source.stats(ssrc, self.clock_rate or 90_000) if source is not None else None,
            self._send_nack,
        )
        layer.rank = self.rids.index(rid) if rid is not None else 0
        if source is not None:
            self._abs_id = source.abs_send_time_id()
        self.layers[ssrc] = layer
        waiting = self._waiting + [s for s in self.subscriptions if s.layer is None]
        self._waiting = []
        for subscription in dict.fromkeys(waiting):
            if not any(subscription in each.joining for each in self.layers.values()):
                self.choose(subscription, subscription.wanted_rank, force=True)
        return layer

    def _drop_layer(self, layer: Layer) -> None:
        del self.layers[layer.ssrc]
        for ssrc in [s for s, each in self._rtx.items() if each is layer]:
            del self._rtx[ssrc]
        moved = layer.subscriptions + layer.joining
        layer.close()
        if layer is self._recorded:
            self._recorded, self._assembler = None, None
        for subscription in moved:
            subscription.layer = None
            subscription.restart(ask=False)
            self._waiting.append(subscription)

    def _measure_uplink(self, data: bytes, first: int, now: float) -> None:
        """Feed the uplink estimate once per frame (its last packet's send time, the
        frame's bytes): its delay-gradient filter works on packet groups anyway."""
        uplink = self.uplink
        top = self.top()
        if uplink is not None and top is not None and not self.rids:
            sent = rtp.extension(data, first, self._abs_id)
            if sent is not None and len(sent) == 3:
                arrival_ms, sent_at = int(now * 1000), int.from_bytes(sent, "big")
                uplink.add(arrival_ms, sent_at, self._frame_bytes, top.ssrc)
        self._frame_bytes = 0

    def _record(self, data: bytes, layer: Layer) -> None:
        codecs = self.source.codecs if self.source is not None else {}
        if self._assembler is None:
            # The best layer; a recorder starts on its next key frame.
            top = self.top()
            if top is not None and layer is not top:
                return
            self._recorded = layer
            self._assembler = FrameAssembler(self.video, None, codecs)
        try:
            packet = RtpPacket.parse(data)
            codec = codecs[packet.payload_type]
            packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        except (ValueError, KeyError):
            return
        lost, frame = self._assembler.add(packet)
        if lost:
            layer.requester.request()
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

    def _send_pli(self, ssrc: int) -> bool:
        if self.source is None or ssrc not in self.layers:
            return False
        self.source.send_pli(ssrc)
        return True

    def _send_nack(self, ssrc: int, lost: list[int]) -> None:
        if self.source is not None:
            self.source.send_nack(ssrc, lost)

    def send_remb(self, bitrate: int) -> bool:
        """Tell the publisher to send this track (all its layers) at most ``bitrate``."""
        if self.source is None or not self.layers:
            return False
        return self.source.send_remb(bitrate, list(self.layers))

    def close(self) -> None:
        for layer in self.layers.values():
            layer.close()
        for subscription in list(self.subscriptions):
            self.remove(subscription)
