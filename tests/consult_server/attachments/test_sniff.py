from __future__ import annotations

import pytest

from consult_server.attachments.sniff import HEAD_BYTES, Kind, sniff
from tests.support import sample_files as files


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (files.ct_dicom(), Kind.DICOM),
        (files.dicom_bytes(files.ct_slice(), preamble=False), Kind.DICOM),
        (files.png_bytes(), Kind.PNG),
        (files.jpeg_with_gps(), Kind.JPEG),
        (files.clip_bytes("webm"), Kind.WEBM),
        (files.clip_bytes("mp4"), Kind.MP4),
        (files.pdf_bytes(), Kind.PDF),
    ],
)
def test_kind_is_read_from_the_content(data: bytes, kind: Kind) -> None:
    assert sniff(data[:HEAD_BYTES]) is kind


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"MZ\x90\x00" + b"\x00" * 600,  # a Windows program
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 100,
        b"\x1a\x45\xdf\xa3" + b"\x00" * 60 + b"matroska",  # Matroska that is not WebM
        b"PK\x03\x04" + b"\x00" * 100,  # a zip (or a .docx)
    ],
)
def test_anything_else_is_not_ours(data: bytes) -> None:
    assert sniff(data[:HEAD_BYTES]) is None
