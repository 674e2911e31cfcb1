"""Photos lose GPS and every other metadata, and keep every pixel."""

from __future__ import annotations

import io

from PIL import Image

from consult_server.attachments.scrub import scrub_jpeg, scrub_png
from tests.support import sample_files as files


def _scrub_jpeg(data: bytes, orientation: int) -> bytes:
    out = io.BytesIO()
    scrub_jpeg(io.BytesIO(data), out, orientation)
    return out.getvalue()


def test_jpeg_loses_gps_and_maker_but_keeps_orientation_and_pixels() -> None:
    original = files.jpeg_with_gps(orientation=6)
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(files.GPS_IFD)  # the sample does carry a position
        before_pixels = before.tobytes()
    scrubbed = _scrub_jpeg(original, orientation=6)
    assert b"PhoneMaker" not in scrubbed and b"patient photo" not in scrubbed
    with Image.open(io.BytesIO(scrubbed)) as after:
        exif = after.getexif()
        assert not exif.get_ifd(files.GPS_IFD)
        assert files.MAKE not in exif
        assert exif[files.ORIENTATION] == 6
        assert after.tobytes() == before_pixels  # not re-encoded: the very same pixels
    # The image data itself (from the first scan on) is copied byte for byte.
    scan = original.index(b"\xff\xda")
    assert scrubbed.endswith(original[scan:])


def test_upright_jpeg_gets_no_exif_at_all() -> None:
    scrubbed = _scrub_jpeg(files.jpeg_with_gps(orientation=1), orientation=1)
    assert b"Exif" not in scrubbed


def test_png_loses_text_chunks() -> None:
    original = files.png_bytes(text="Nguyen Thi Hoa, GPS 21.03N")
    out = io.BytesIO()
    scrub_png(io.BytesIO(original), out)
    assert b"Nguyen" not in out.getvalue() and b"tEXt" not in out.getvalue()
    with (
        Image.open(io.BytesIO(out.getvalue())) as after,
        Image.open(io.BytesIO(original)) as before,
    ):
        assert after.tobytes() == before.tobytes()
