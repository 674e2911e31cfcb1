"""Photos lose GPS and every other metadata, and keep every pixel."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from consult_server.attachments import scrub
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


def _jpeg(**options: object) -> bytes:
    out = io.BytesIO()
    files.pattern(96, 64).save(out, "JPEG", **options)
    return out.getvalue()


@pytest.mark.parametrize("chunk", [7, 64, 1024 * 1024])
@pytest.mark.parametrize(
    "options",
    [{"quality": 90}, {"quality": 90, "progressive": True}, {"restart_marker_blocks": 1}],
    ids=["baseline", "progressive", "restart-markers"],
)
def test_every_scan_is_kept_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch, chunk: int, options: dict[str, object]
) -> None:
    """Whatever the block boundaries fall on (stuffed bytes, restart markers, the
    segments between a progressive JPEG's scans)."""
    monkeypatch.setattr(scrub, "_CHUNK", chunk)
    original = _jpeg(**options)
    scrubbed = _scrub_jpeg(original, orientation=1)
    assert scrubbed == original  # nothing to remove from Pillow's own output
    with Image.open(io.BytesIO(scrubbed)) as after:
        after.load()


def test_what_a_phone_appends_after_the_image_is_dropped() -> None:
    """A second picture with its own EXIF (multi-picture, depth map) or a motion-photo
    video after the end-of-image marker, and the MPF index pointing at it."""
    exif = Image.Exif()
    exif[files.MAKE] = "SecondPicture"
    exif.get_ifd(files.GPS_IFD).update({1: "N", 2: (21.0, 2.0, 3.5)})
    second = io.BytesIO()
    files.pattern().save(second, "JPEG", exif=exif.tobytes())
    first = files.jpeg_with_gps(orientation=1)
    mpf = b"\xff\xe2" + (4 + 10).to_bytes(2, "big") + b"MPF\x00" + b"\x00" * 8
    phone = first[:2] + mpf + first[2:] + second.getvalue() + b"ftypmp42 motion photo video"
    scrubbed = _scrub_jpeg(phone, orientation=1)
    assert b"SecondPicture" not in scrubbed and b"motion photo" not in scrubbed
    assert b"MPF\x00" not in scrubbed
    assert scrubbed.endswith(b"\xff\xd9") and scrubbed.count(b"\xff\xd8") == 1
    with Image.open(io.BytesIO(scrubbed)) as after, Image.open(io.BytesIO(first)) as before:
        assert after.tobytes() == before.tobytes()
