"""What a file is, read from its first bytes: never from its name or the browser's word.

Only the kinds a consult carries are recognised; anything else is refused at the door.
"""

from __future__ import annotations

from enum import StrEnum

#: How many leading bytes ``sniff`` needs (DICOM's magic sits after a 128-byte preamble).
HEAD_BYTES = 512


class Kind(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    DICOM = "dicom"
    MP4 = "mp4"
    WEBM = "webm"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def is_photo(self) -> bool:
        return self in (Kind.JPEG, Kind.PNG)

    @property
    def is_clip(self) -> bool:
        return self in (Kind.MP4, Kind.WEBM)


_MEDIA_TYPES = {
    Kind.JPEG: "image/jpeg",
    Kind.PNG: "image/png",
    Kind.DICOM: "application/dicom",
    Kind.MP4: "video/mp4",
    Kind.WEBM: "video/webm",
    Kind.PDF: "application/pdf",
}
#: Explicit-VR codes: a DICOM stream written without its preamble starts with a group
#: 0002 or 0008 tag followed by one of these.
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OW PN SH SL SQ SS ST SV TM UC UI UL"
    b" UN UR US UT UV".split()
)


def sniff(head: bytes) -> Kind | None:
    """The kind of a file starting with ``head`` (at least ``HEAD_BYTES`` of it when the
    file is that long), or None when it is none of ours."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if head[128:132] == b"DICM":
        return Kind.DICOM
    if head[:2] in (b"\x02\x00", b"\x08\x00") and head[4:6] in _VRS:
        return Kind.DICOM
    if head[4:8] == b"ftyp":
        return Kind.MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return Kind.WEBM
    if head.startswith(b"%PDF-"):
        return Kind.PDF
    return None
