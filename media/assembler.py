"""Encoded frames out of RTP packets, as a forwarder needs them.

Stands in for aiortc's ``JitterBuffer`` on the receivers we tap (same ``add`` contract:
``add(packet) -> (picture_lost, frame or None)``, the packet's depayloaded bytes in
``packet._data``). It differs where a forwarder differs from a decoder:

- a video frame goes out as soon as it is complete (contiguous from the packet after
  the previous frame's marker up to its own marker packet), not when the next frame's
  first packet arrives: one frame interval less latency, and no rescans of the buffer;
- an audio packet is a frame and goes out at once (aiortc holds four);
- a hole that a retransmission does not fill within ``GIVE_UP`` packets is given up:
  what is held is dropped (stale by now), assembly resumes at the next frame boundary,
  the picture is reported lost (the receiver sends the publisher a PLI) and ``on_loss``
  is called so the forwarder holds every subscriber until the next keyframe: no frame
  that references a lost one is ever forwarded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiortc.jitterbuffer import JitterFrame

#: Packets received past a hole before the hole is given up.
GIVE_UP = 64
#: Packets held at most (a bound on memory whatever arrives; a big keyframe is ~100).
MAX_PENDING = 2048


def _after(a: int, b: int) -> int:
    """How far sequence number ``a`` is after ``b`` (mod 2^16; negative if before)."""
    d = (a - b) & 0xFFFF
    return d - 0x10000 if d >= 0x8000 else d


class FrameAssembler:
    def __init__(
        self,
        video: bool,
        on_loss: Callable[[], None] | None = None,
        codecs: Mapping[int, Any] | None = None,
    ) -> None:
        self.video = video
        self.on_loss = on_loss
        #: Payload type -> codec (the receiver's own map, filled when it starts).
        self._codecs = codecs if codecs is not None else {}
        #: First sequence number of the next frame to emit; None until known.
        self._next: int | None = None
        #: Last sequence number held without a hole before it.
        self._head = 0
        self._pending: dict[int, Any] = {}
        self.frames = 0
        self.skipped = 0

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        if not self.video:
            return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)
        seq = packet.sequence_number
        if self._next is None:
            # Sync on a packet that starts a frame, or else after the next frame boundary:
            # never forward half a frame.
            if self._starts_frame(packet):
                self._next = seq
                self._head = (seq - 1) & 0xFFFF
            else:
                if packet.marker:
                    self._next = (seq + 1) & 0xFFFF
                    self._head = seq
                return False, None
        if _after(seq, self._next) < 0 or seq in self._pending:
            return False, None  # late duplicate or already emitted
        pending = self._pending
        pending[seq] = packet
        if seq == (self._head + 1) & 0xFFFF:
            head = seq
            while (head + 1) & 0xFFFF in pending:
                head = (head + 1) & 0xFFFF
            self._head = head
        frame = self._complete()
        if frame is not None:
            return False, frame
        if _after(seq, self._head) > GIVE_UP or len(pending) > MAX_PENDING:
            return self._skip(), None
        return False, None

    def _starts_frame(self, packet: Any) -> bool:
        codec = self._codecs.get(packet.payload_type)
        payload: bytes = packet.payload
        if codec is None or not payload:
            return False
        name = codec.name.upper()
        if name == "VP8":
            # RFC 7741: S bit set and partition index 0.
            return (payload[0] & 0x17) == 0x10
        if name == "H264":
            # RFC 6184: a single NAL unit or STAP-A, or the first fragment of an FU-A.
            nal_type: int = payload[0] & 0x1F
            if nal_type == 28:
                return len(payload) > 1 and bool(payload[1] & 0x80)
            return 1 <= nal_type <= 24
        return False

    def _complete(self) -> JitterFrame | None:
        """The frame starting at ``_next`` if all its packets are here."""
        assert self._next is not None
        pending = self._pending
        first = pending.get(self._next)
        if first is None:
            return None
        timestamp = first.timestamp
        seq = self._next
        parts = []
        while True:
            packet = pending.get(seq)
            if packet is None or packet.timestamp != timestamp:
                return None
            parts.append(packet)
            if packet.marker:
                break
            seq = (seq + 1) & 0xFFFF
        for packet in parts:
            del pending[packet.sequence_number]
        self._next = (seq + 1) & 0xFFFF
        self.frames += 1
        return JitterFrame(data=b"".join(p._data for p in parts), timestamp=timestamp)

    def _skip(self) -> bool:
        """Give up the hole: drop what is held and resync at the next frame boundary."""
        self._pending.clear()
        self._next = None
        self.skipped += 1
        if self.on_loss is not None:
            self.on_loss()
        return True
