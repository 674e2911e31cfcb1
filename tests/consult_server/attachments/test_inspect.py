"""Each kind is checked by a library that knows it; what is not sound is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from consult_server.attachments.inspect import Refused, describe
from consult_server.attachments.sniff import Kind
from consult_server.attachments.thumbnails import make_thumbnail
from tests.support import sample_files as files
from tests.support.hostile_files import dicom_deflate_bomb


def _without_pixels() -> bytes:
    ds = files.ct_slice()
    del ds.PixelData
    return files.dicom_bytes(ds)


def _bad_syntax() -> bytes:
    ds = files.ct_slice()
    ds.file_meta.TransferSyntaxUID = UID("1.2.3.4")
    return files.dicom_bytes(ds)


def _huge() -> bytes:
    ds = files.ct_slice()
    ds.Rows = ds.Columns = 50_000
    return files.dicom_bytes(ds)


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f"
    path.write_bytes(data)
    return path


def test_dicom_catalog_facts(tmp_path: Path) -> None:
    got = describe(_write(tmp_path, files.ct_dicom(instance=7, series_uid="1.2.3.4")), Kind.DICOM)
    assert (got.width, got.height, got.frames) == (128, 128, 1)
    assert got.dicom is not None
    assert got.dicom.modality == "CT"
    assert got.dicom.series_uid == "1.2.3.4"
    assert got.dicom.instance_number == 7
    assert got.dicom.pixel_spacing == pytest.approx((0.661468, 0.661468))
    assert got.dicom.study_uid


def test_multiframe_and_preambleless_dicom(tmp_path: Path) -> None:
    assert describe(_write(tmp_path, files.multiframe_dicom(frames=5)), Kind.DICOM).frames == 5
    bare = files.dicom_bytes(files.ct_slice(), preamble=False)
    assert describe(_write(tmp_path, bare), Kind.DICOM).width == 128


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (files.ct_dicom()[:30_000], "dicom_truncated"),
        (b"\x00" * 128 + b"DICM" + b"garbage" * 100, "bad_dicom"),
        (_without_pixels(), "dicom_no_image"),
        (_bad_syntax(), "bad_dicom"),
        (_huge(), "image_too_large"),
        (b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff", "bad_dicom"),
    ],
)
def test_broken_dicom_is_refused(tmp_path: Path, data: bytes, code: str) -> None:
    with pytest.raises(Refused) as refused:
        describe(_write(tmp_path, data), Kind.DICOM)
    assert refused.value.code == code


def test_photos_clips_and_pdf(tmp_path: Path) -> None:
    assert describe(_write(tmp_path, files.png_bytes()), Kind.PNG).width == 64
    photo = describe(_write(tmp_path, files.jpeg_with_gps(orientation=6)), Kind.JPEG)
    assert (photo.width, photo.height, photo.orientation) == (64, 48, 6)
    clip = describe(_write(tmp_path, files.clip_bytes("webm")), Kind.WEBM)
    assert (clip.width, clip.height) == (64, 48)
    assert describe(_write(tmp_path, files.clip_bytes("mp4")), Kind.MP4).width == 64
    describe(_write(tmp_path, files.pdf_bytes()), Kind.PDF)


@pytest.mark.parametrize(
    ("data", "kind", "code"),
    [
        (files.png_bytes()[:-30], Kind.PNG, "bad_image"),
        (files.jpeg_with_gps()[:400], Kind.JPEG, "bad_image"),
        (files.clip_bytes("mp4")[:200], Kind.MP4, "bad_clip"),
        (files.pdf_bytes()[:-40], Kind.PDF, "bad_pdf"),
        (b"\x1a\x45\xdf\xa3webm" + b"\x00" * 100, Kind.WEBM, "bad_clip"),
    ],
)
def test_damaged_files_are_refused(tmp_path: Path, data: bytes, kind: Kind, code: str) -> None:
    with pytest.raises(Refused) as refused:
        describe(_write(tmp_path, data), kind)
    assert refused.value.code == code


def test_thumbnails(tmp_path: Path) -> None:
    import io

    from PIL import Image

    frames = make_thumbnail(_write(tmp_path, files.multiframe_dicom(frames=5)), Kind.DICOM)
    assert frames is not None
    with Image.open(io.BytesIO(frames)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (64, 64)
    rotated = make_thumbnail(_write(tmp_path, files.jpeg_with_gps(orientation=6)), Kind.JPEG)
    assert rotated is not None
    with Image.open(io.BytesIO(rotated)) as thumb:
        assert thumb.size == (48, 64)  # turned upright by its EXIF orientation
    assert make_thumbnail(_write(tmp_path, files.clip_bytes("webm")), Kind.WEBM) is not None
    assert make_thumbnail(_write(tmp_path, files.pdf_bytes()), Kind.PDF) is None


def test_a_deflated_dicom_is_read_and_a_deflate_bomb_refused_before_inflating(
    tmp_path: Path,
) -> None:
    """A deflated dataset is measured as a stream first: pydicom would inflate it whole."""
    small = tmp_path / "small.dcm"
    ds = files.ct_slice()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(small, enforce_file_format=True)
    assert describe(small, Kind.DICOM).width == 128
    bomb = tmp_path / "bomb.dcm"
    bomb.write_bytes(dicom_deflate_bomb(megabytes=100))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(Refused) as refused:
        describe(bomb, Kind.DICOM)
    assert refused.value.code == "image_too_large"
