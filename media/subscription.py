"""One subscriber's leg of one published track: each packet's header rewritten for the
leg and sent; NACKs answered from the layer's cache (see ``media.forwarding``)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media import rtp
from media.aiortc_packets import Leg
from media.forwarding import TOTALS

if TYPE_CHECKING:
    from media.layer import Layer
    from media.publication import Publication

#: The layer a new subscription starts on: the best (a weak link falls within seconds).
START_RANK = 99
#: Sequence numbers a subscription remembers, to map its NACKs back to the source's.
RING_PACKETS = 1024
#: Resends per leg: at most this share of the packets it was sent in the last
#: ``RESEND_WINDOW``, and ``RESEND_FREE`` more (a burst of loss on a good link).
RESEND_SHARE = 0.2
RESEND_WINDOW = 256
RESEND_FREE = 16

_RING_MASK = RING_PACKETS - 1
_HEADER = rtp.HEADER


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
        #: The track it is subscribed to, and the layer forwarded now (None: not yet
        #: started), whose cache answers its NACKs.
        self.publication: Publication | None = None
        self.layer: Layer | None = None
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
        sent_at = abs_time if leg.abs_send_time else b""
        leg.send(b"".join((header, leg.head, sent_at, leg.tail, payload)))
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
        """The subscriber's NACK: resend what it lists from its layer's cache (RTX
        when negotiated). A packet the server never had is on its way (asked for
        again upstream) and goes out when it comes."""
        leg, source = self._leg, self.layer
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
            sent_at = abs_time if leg.abs_send_time else b""
            leg.send(b"".join((header, leg.head, sent_at, leg.tail, payload)))
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
