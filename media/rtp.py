"""RTP packets as bytes: what a forwarder reads and rewrites, nothing more.

A forwarded packet keeps its payload byte for byte; only the fixed header (sequence
number, timestamp, SSRC, payload type) and the header extensions change per
subscriber (RFC 3550 5.1, RFC 8285 one-byte extensions). Retransmissions may travel
as RTX (RFC 4588: the original sequence number before the payload).

Pure functions on ``bytes``: tests/media/test_rtp.py builds packets with aiortc's own
``RtpPacket`` and reads them back here.
"""

from __future__ import annotations

import struct
import time

HEADER = struct.Struct("!BBHII")
_U16 = struct.Struct("!H")
#: RFC 8285 one-byte header extensions' profile.
ONE_BYTE_PROFILE = 0xBEDE


def payload_offset(data: bytes, first: int) -> int:
    """Where the payload of ``data`` (an RTP packet whose first byte is ``first``)
    starts: after the CSRCs and the header extension; -1 when it is malformed."""
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if len(data) < offset + 4:
            return -1
        words = _U16.unpack_from(data, offset + 2)[0]
        offset += 4 + 4 * words
    return offset if offset <= len(data) else -1


def padding(data: bytes, first: int) -> int:
    """Bytes of padding at the end of ``data`` (the P bit, RFC 3550 5.1)."""
    return data[-1] if first & 0x20 and data else 0


def extension(data: bytes, first: int, ext_id: int) -> bytes | None:
    """The value of one-byte header extension ``ext_id`` in ``data``, if present."""
    if not first & 0x10 or not ext_id:
        return None
    start = 12 + 4 * (first & 0x0F)
    if len(data) < start + 4:
        return None
    profile, words = struct.unpack_from("!HH", data, start)
    if profile != ONE_BYTE_PROFILE:
        return None
    i, end = start + 4, min(start + 4 + 4 * words, len(data))
    while i < end:
        byte = data[i]
        if byte == 0:  # padding between elements
            i += 1
            continue
        element, length = byte >> 4, (byte & 0x0F) + 1
        if element == 15:
            return None
        if element == ext_id:
            return data[i + 1 : i + 1 + length]
        i += 1 + length
    return None


def abs_send_time(now: float | None = None) -> int:
    """abs-send-time (6.18 fixed-point seconds, 24 bits) of ``now`` (Unix seconds; NTP
    differs by a whole multiple of 64 s, so the 24 bits are the same)."""
    return int((time.time() if now is None else now) * 262_144) & 0xFFFFFF


def extension_block(abs_send_time_id: int, mid_id: int, mid: str | None) -> tuple[bytes, bytes]:
    """A subscriber's header extensions as (head, tail): the packet carries
    ``head + <3 bytes of abs-send-time> + tail`` (head ends with the element's id byte
    when abs-send-time is negotiated; both empty when nothing is)."""
    elements = b""
    if mid_id and mid:
        value = mid.encode()[:16]
        elements += bytes([(mid_id << 4) | (len(value) - 1)]) + value
    size = (4 if abs_send_time_id else 0) + len(elements)
    pad = -size % 4
    if not size:
        return b"", b""
    head = struct.pack("!HH", ONE_BYTE_PROFILE, (size + pad) // 4)
    if abs_send_time_id:
        head += bytes([(abs_send_time_id << 4) | 2])
    return head, elements + b"\x00" * pad


def vp8_keyframe_start(payload: bytes, at: int = 0) -> bool:
    """Whether a VP8 RTP payload (RFC 7741) begins a key frame: the first packet of
    partition 0 (S = 1, PID = 0) whose VP8 frame tag has P = 0 (RFC 6386 9.1)."""
    if at >= len(payload):
        return False
    descriptor = payload[at]
    if (descriptor & 0x17) != 0x10:
        return False
    i = at + 1
    if descriptor & 0x80:
        if i >= len(payload):
            return False
        flags = payload[i]
        i += 1
        if flags & 0x80:  # picture id, 7 or 15 bits
            if i >= len(payload):
                return False
            i += 2 if payload[i] & 0x80 else 1
        if flags & 0x40:  # TL0PICIDX
            i += 1
        if flags & 0x30:  # TID/KEYIDX
            i += 1
    return i < len(payload) and not payload[i] & 0x01


def h264_keyframe_start(payload: bytes, at: int = 0) -> bool:
    """Whether an H.264 RTP payload (RFC 6184) begins an IDR picture or carries its
    parameter sets: a single SPS/IDR NAL unit, a STAP-A holding one, or the first
    fragment of an IDR FU-A."""
    if at >= len(payload):
        return False
    nal = payload[at] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A: 16-bit sizes, each followed by a NAL unit
        i = at + 1
        while i + 2 < len(payload):
            size = _U16.unpack_from(payload, i)[0]
            if payload[i + 2] & 0x1F in (5, 7):
                return True
            i += 2 + size
        return False
    if nal == 28 and at + 1 < len(payload):  # FU-A
        header = payload[at + 1]
        return bool(header & 0x80) and (header & 0x1F) in (5, 7)
    return False


def keyframe_start(codec_name: str, payload: bytes, at: int = 0) -> bool:
    name = codec_name.upper()
    if name == "VP8":
        return vp8_keyframe_start(payload, at)
    if name == "H264":
        return h264_keyframe_start(payload, at)
    return True


def after(a: int, b: int) -> int:
    """How far sequence number ``a`` is after ``b`` (mod 2^16; negative if before)."""
    d = (a - b) & 0xFFFF
    return d - 0x10000 if d >= 0x8000 else d
