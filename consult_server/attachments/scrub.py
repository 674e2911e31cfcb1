"""Photos lose their metadata on the way in: EXIF (GPS position, device, owner), XMP,
IPTC and comments, without re-encoding a single pixel.

A JPEG is copied segment by segment up to its first scan, then verbatim; a PNG chunk by
chunk. What a viewer needs to draw the picture is kept: JFIF, the ICC colour profile,
Adobe's colour transform flag, and the EXIF orientation (written back as a fresh EXIF
holding that one tag, so a phone's portrait photo stays upright). Both run in a worker
thread and stream: a 50 MiB file never sits in memory.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from PIL import Image

#: JPEG segments kept besides the image data: APP0 (JFIF), APP2 (ICC), APP14 (Adobe).
_KEPT_APP = frozenset({0xE0, 0xE2, 0xEE})
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


def scrub_jpeg(src: BinaryIO, dst: BinaryIO, orientation: int = 1) -> None:
    if _read(src, 2) != b"\xff\xd8":
        raise NotAnImage("not a JPEG")
    dst.write(b"\xff\xd8")
    pending = _orientation_segment(orientation)
    while True:
        if _read(src, 1) != b"\xff":
            raise NotAnImage("a JPEG segment does not start with a marker")
        marker = _read(src, 1)[0]
        while marker == 0xFF:  # fill bytes before a marker
            marker = _read(src, 1)[0]
        if marker == 0xD9:
            raise NotAnImage("the JPEG ends before its image data")
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            dst.write(bytes((0xFF, marker)))
            continue
        raw_length = _read(src, 2)
        (length,) = struct.unpack(">H", raw_length)
        if length < 2:
            raise NotAnImage("a JPEG segment has an impossible length")
        metadata = marker == 0xFE or (0xE0 <= marker <= 0xEF and marker not in _KEPT_APP)
        if metadata:
            src.seek(length - 2, 1)
            continue
        if pending and marker != 0xE0:
            dst.write(pending)  # after JFIF, which must come first
            pending = b""
        dst.write(bytes((0xFF, marker)) + raw_length)
        _copy(src, dst, length - 2)
        if marker == 0xDA:  # start of scan: the rest is image data (and its markers)
            _copy_rest(src, dst)
            return


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
