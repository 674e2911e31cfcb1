"""One published track's packets, taken as they come and fanned out to its
subscriptions (see ``media.forwarding``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.codecs import depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media import rtp
from media.aiortc_hook import UplinkEstimate
from media.assembler import FrameAssembler
from media.forwarding import TOTALS, KeyframeRequester, Source, is_keyframe
from media.latency import FORWARD_LATENCY
from media.layer import CACHE_MASK as _CACHE_MASK
from media.layer import Layer
from media.subscription import Subscription

_HEADER = rtp.HEADER


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

    def choose(self, subscription: Subscription, rank: int, force: bool = False) -> bool:
        """Move ``subscription`` to the layer of ``rank`` (or the nearest below) at that
        layer's next key frame; False when it is already there or going."""
        layers = self.ranked()
        if not layers or subscription not in self.subscriptions:
            return False
        target = next((layer for layer in reversed(layers) if layer.rank <= rank), layers[0])
        if subscription in target.joining:
            return False
        for layer in layers:
            if subscription in layer.joining:
                layer.joining.remove(subscription)
        if subscription.layer is target and not force:
            return False
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
                    self._measure_uplink(data, first, now, layer.ssrc)
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

    def _measure_uplink(self, data: bytes, first: int, now: float, ssrc: int) -> None:
        """Feed the uplink estimate once per frame (its last packet's send time, the
        frame's bytes): its delay-gradient filter works on packet groups anyway. Not
        with simulcast: the layers' frames interleave."""
        uplink = self.uplink
        if uplink is not None and not self.rids:
            sent = rtp.extension(data, first, self._abs_id)
            if sent is not None and len(sent) == 3:
                arrival_ms, sent_at = int(now * 1000), int.from_bytes(sent, "big")
                uplink.add(arrival_ms, sent_at, self._frame_bytes, ssrc)
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
