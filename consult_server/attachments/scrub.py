"""Photos lose their metadata on the way in: EXIF (GPS position, device, owner), XMP,
IPTC and comments, without re-encoding a single pixel.

A JPEG is copied segment by segment, its scans' image data byte for byte, and ends at
its end-of-image marker: whatever a phone appended after it (a second picture with its
own EXIF, a "motion photo" video with GPS) is dropped, and so is the MPF index that
points at it. A PNG is copied chunk by chunk. What a viewer needs to draw the picture is
kept: JFIF, the ICC colour profile, Adobe's colour transform flag, and the EXIF
orientation (written back as a fresh EXIF holding that one tag, so a phone's portrait
photo stays upright). Both run in a worker
thread and stream: a 50 MiB file never sits in memory.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from PIL import Image

#: JPEG segments kept besides the image data: APP0 (JFIF), APP2 (only an ICC profile;
#: MPF, the index of appended pictures, is APP2 too), APP14 (Adobe).
_KEPT_APP = frozenset({0xE0, 0xE2, 0xEE})
_ICC = b"ICC_PROFILE\x00"
#: PNG chunks that carry text, EXIF or a timestamp.
_DROPPED_PNG = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK = 1024 * 1024
ORIENTATION_TAG = 0x0112


class NotAnImage(ValueError):
    """The bytes do not have the structure their magic promised."""


def _read(src: BinaryIO, n: int) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise NotAnImage("the file ends in the middle of its header")
    return data


def _copy(src: BinaryIO, dst: BinaryIO, n: int) -> None:
    while n > 0:
        data = src.read(min(n, _CHUNK))
        if not data:
            raise NotAnImage("the file ends in the middle of a segment")
        dst.write(data)
        n -= len(data)


def _copy_rest(src: BinaryIO, dst: BinaryIO) -> None:
    while data := src.read(_CHUNK):
        dst.write(data)


def _orientation_segment(orientation: int) -> bytes:
    if orientation == 1:
        return b""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    payload = b"Exif\x00\x00" + exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _copy_scan(src: BinaryIO, dst: BinaryIO) -> int:
    """Copy a scan's entropy-coded data; return the marker that ends it (its 0xFF and
    the marker byte are consumed, not written). Stuffed 0xFF00 and restart markers are
    part of the data."""
    while True:
        block = src.read(_CHUNK)
        if not block:
            raise NotAnImage("the JPEG ends in the middle of its image data")
        start = 0
        while True:
            at = block.find(b"\xff", start)
            if at < 0 or at == len(block) - 1:
                break
            following = block[at + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                start = at + 1 if following == 0xFF else at + 2
                continue
            dst.write(block[:at])
            src.seek(at + 2 - len(block), 1)  # back to just after the marker
            return following
        if at == len(block) - 1:  # a 0xFF at the block's end: decide with the next byte
            dst.write(block[:-1])
            src.seek(-1, 1)
            peek = src.read(2)
            if len(peek) < 2:
                raise NotAnImage("the JPEG ends in the middle of its image data")
            if peek[1] == 0x00 or 0xD0 <= peek[1] <= 0xD7:
                dst.write(peek)
                continue
            if peek[1] == 0xFF:
                src.seek(-1, 1)
                dst.write(peek[:1])
                continue
            return peek[1]
        dst.write(block)


def scrub_jpeg(src: BinaryIO, dst: BinaryIO, orientation: int = 1) -> None:
    if _read(src, 2) != b"\xff\xd8":
        raise NotAnImage("not a JPEG")
    dst.write(b"\xff\xd8")
    pending = _orientation_segment(orientation)
    marker: int | None = None
    while True:
        if marker is None:
            if _read(src, 1) != b"\xff":
                raise NotAnImage("a JPEG segment does not start with a marker")
            marker = _read(src, 1)[0]
            while marker == 0xFF:  # fill bytes before a marker
                marker = _read(src, 1)[0]
        if marker == 0xD9:  # end of image: nothing after it is kept
            dst.write(b"\xff\xd9")
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            dst.write(bytes((0xFF, marker)))
            marker = None
            continue
        raw_length = _read(src, 2)
        (length,) = struct.unpack(">H", raw_length)
        if length < 2:
            raise NotAnImage("a JPEG segment has an impossible length")
        payload = _read(src, length - 2) if 0xE0 <= marker <= 0xEF else None
        metadata = marker == 0xFE or (0xE0 <= marker <= 0xEF and marker not in _KEPT_APP)
        if marker == 0xE2 and payload is not None and not payload.startswith(_ICC):
            metadata = True
        if metadata:
            if payload is None:
                src.seek(length - 2, 1)
            marker = None
            continue
        if pending and marker != 0xE0:
            dst.write(pending)  # after JFIF, which must come first
            pending = b""
        dst.write(bytes((0xFF, marker)) + raw_length)
        if payload is not None:
            dst.write(payload)
        else:
            _copy(src, dst, length - 2)
        if marker == 0xDA:  # a scan: its image data, up to the next marker
            marker = _copy_scan(src, dst)
            continue
        marker = None


def scrub_png(src: BinaryIO, dst: BinaryIO) -> None:
    if _read(src, 8) != _PNG_SIGNATURE:
        raise NotAnImage("not a PNG")
    dst.write(_PNG_SIGNATURE)
    while True:
        header = _read(src, 8)
        (length,) = struct.unpack(">I", header[:4])
        kind = header[4:]
        if kind in _DROPPED_PNG:
            src.seek(length + 4, 1)
            continue
        dst.write(header)
        _copy(src, dst, length + 4)
        if kind == b"IEND":
            return
