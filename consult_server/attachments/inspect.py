"""Is the file what its first bytes say, and what does the catalog keep about it?

Each kind is opened by a library that knows it (pydicom, Pillow, PyAV) and checked to
the point where a viewer will not choke: a DICOM must carry an image whose pixel data
is all there, a photo must decode to its last row, a clip must have a video stream, a
PDF its end marker. Anything else is refused with a stable code, naming the kind, never
the content. Runs in a worker thread; nothing here loads a whole large file at once.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pydicom
import pydicom.filereader
from PIL import Image
from pydicom.uid import DeflatedExplicitVRLittleEndian

from consult_server.attachments.patient_match import ImagePatient
from consult_server.attachments.sniff import Kind

#: A photo's pixels beyond this are refused (a decompression bomb, not a wound photo).
MAX_PHOTO_PIXELS = 60_000_000
#: The most memory one decoded picture (a PNG, a DICOM frame) may take.
MAX_DECODED_BYTES = 128 * 1024 * 1024
#: A deflated DICOM's dataset once inflated (pydicom holds it whole).
MAX_INFLATED_BYTES = 64 * 1024 * 1024
PIXEL_DATA = 0x7FE00010
#: Values larger than this stay on disk while the header is read.
_DEFER = 64 * 1024


class Refused(ValueError):
    """The content is not what its kind promises."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DicomInfo:
    modality: str | None
    study_uid: str | None
    series_uid: str | None
    instance_number: int | None
    #: Row and column spacing in mm (PixelSpacing, else ImagerPixelSpacing).
    pixel_spacing: tuple[float, float] | None
    #: Who the file says it shows (compared with the consult's patient, never stored).
    patient: ImagePatient = field(default_factory=ImagePatient)


@dataclass(frozen=True)
class Described:
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    duration: float | None = None
    #: EXIF orientation of a JPEG (1: upright), kept when the rest is scrubbed.
    orientation: int = 1
    dicom: DicomInfo | None = None


def describe(path: Path, kind: Kind) -> Described:
    """Check ``path`` is a sound file of ``kind`` and say what it holds."""
    with warnings.catch_warnings():
        # Libraries warn about oddities (a DICOM value with a bad VR, a big photo);
        # what matters is whether the file can be read, decided below.
        warnings.simplefilter("ignore")
        if kind is Kind.DICOM:
            return _dicom(path)
        if kind.is_photo:
            return _photo(path, kind)
        if kind.is_clip:
            return _clip(path)
        return _pdf(path)


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    return str(value)[:128]


def _int(ds: Any, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _spacing(ds: Any) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            value = ds.get(keyword)
            if value is not None and len(value) == 2:
                row, column = float(value[0]), float(value[1])
                if row > 0 and column > 0:
                    return row, column
        except (TypeError, ValueError):
            continue
    return None


def _inflated_size(path: Path, limit: int) -> int:
    """How large a deflated DICOM's dataset is once inflated, read as a stream and
    stopped past ``limit``: pydicom inflates it whole in memory (a 400 KB file once took
    the server to 940 MiB)."""
    with path.open("rb") as handle:
        head = handle.read(144)
        if head[128:132] != b"DICM" or head[132:136] != b"\x02\x00\x00\x00":
            raise Refused("bad_dicom", "this DICOM file's header cannot be read")
        (group_length,) = struct.unpack("<I", head[140:144])
        handle.seek(144 + group_length)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        size = 0
        while chunk := handle.read(64 * 1024):
            data = inflater.decompress(chunk, limit + 1 - size)
            size += len(data)
            while inflater.unconsumed_tail and size <= limit:
                data = inflater.decompress(inflater.unconsumed_tail, limit + 1 - size)
                size += len(data)
            if size > limit:
                break
    return size


def _dicom(path: Path) -> Described:
    with path.open("rb") as handle:
        head = handle.read(132)
    try:
        meta: Any = pydicom.filereader.read_file_meta_info(path) if head[128:] == b"DICM" else {}
        deflated = meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    except Exception:  # pydicom raises many kinds on a broken header
        raise Refused("bad_dicom", "this DICOM file's header cannot be read") from None
    if deflated and _inflated_size(path, MAX_INFLATED_BYTES) > MAX_INFLATED_BYTES:
        raise Refused("image_too_large", "this DICOM file inflates past what is allowed")
    try:
        ds = pydicom.dcmread(path, defer_size=_DEFER, force=head[128:132] != b"DICM")
        rows, columns = int(ds.Rows), int(ds.Columns)
        frames = _int(ds, "NumberOfFrames") or 1
        samples = int(ds.get("SamplesPerPixel", 1))
        bits = int(ds.BitsAllocated)
        syntax = getattr(ds, "file_meta", {}).get("TransferSyntaxUID")
        compressed = syntax is not None and syntax.is_compressed
    except Exception:  # pydicom raises many kinds on a broken header
        raise Refused("bad_dicom", "this DICOM file's header cannot be read") from None
    if rows <= 0 or columns <= 0 or frames <= 0 or bits not in (1, 8, 16, 32):
        raise Refused("bad_dicom", "this DICOM file's image size is impossible")
    if rows * columns * samples > MAX_PHOTO_PIXELS or (
        rows * columns * samples * max(bits, 8) // 8 > MAX_DECODED_BYTES
    ):
        # Whatever the compression: a preview decodes a frame, and no X-ray is this big.
        raise Refused("image_too_large", "this DICOM image has too many pixels")
    pixels = ds.get_item(PIXEL_DATA, keep_deferred=True)
    if pixels is None:
        raise Refused("dicom_no_image", "this DICOM file holds no image")
    length = getattr(pixels, "length", None)
    offset = getattr(pixels, "value_tell", None)
    # (A deflated dataset's offsets are in its inflated bytes, not the file.)
    if not compressed and not deflated and isinstance(length, int) and isinstance(offset, int):
        expected = (rows * columns * frames * samples * bits + 7) // 8
        if length < expected or offset + length > os.path.getsize(path):
            raise Refused("dicom_truncated", "this DICOM file's image data is incomplete")
    return Described(
        width=columns,
        height=rows,
        frames=frames,
        dicom=DicomInfo(
            modality=_text(ds, "Modality"),
            study_uid=_text(ds, "StudyInstanceUID"),
            series_uid=_text(ds, "SeriesInstanceUID"),
            instance_number=_int(ds, "InstanceNumber"),
            pixel_spacing=_spacing(ds),
            patient=ImagePatient(
                name=_text(ds, "PatientName"),
                birth_date=_text(ds, "PatientBirthDate"),
                sex=_text(ds, "PatientSex"),
            ),
        ),
    )


def _photo(path: Path, kind: Kind) -> Described:
    expected = "JPEG" if kind is Kind.JPEG else "PNG"
    try:
        with Image.open(path) as image:
            if image.format != expected:
                raise Refused("bad_image", "this image cannot be read")
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise Refused("image_too_large", "this image has too many pixels")
            if kind is Kind.PNG and width * height * len(image.getbands()) > MAX_DECODED_BYTES:
                # A PNG decodes whole: a few kilobytes of zeros can claim gigabytes.
                raise Refused("image_too_large", "this image has too many pixels")
            if kind is Kind.JPEG:
                # Checked whole at an eighth of its size: every block is still decoded
                # (a cut-off file fails), in 1/64 of the memory.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            orientation = int(image.getexif().get(0x0112, 1)) if kind is Kind.JPEG else 1
            image.load()  # decodes to the last row: a cut-off file fails here
    except Refused:
        raise
    except Exception:
        raise Refused("bad_image", "this image cannot be read (damaged or incomplete)") from None
    return Described(
        width=width, height=height, orientation=orientation if 1 <= orientation <= 8 else 1
    )


def _clip(path: Path) -> Described:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise Refused("bad_clip", "this clip has no video")
            stream = container.streams.video[0]
            duration = container.duration / 1_000_000 if container.duration else None
            return Described(
                width=stream.codec_context.width or None,
                height=stream.codec_context.height or None,
                frames=stream.frames or None,
                duration=duration,
            )
    except Refused:
        raise
    except Exception:
        raise Refused("bad_clip", "this clip cannot be read (damaged or incomplete)") from None


def _pdf(path: Path) -> Described:
    size = os.path.getsize(path)
    with path.open("rb") as handle:
        handle.seek(max(0, size - 1024))
        tail = handle.read()
    if b"%%EOF" not in tail:
        raise Refused("bad_pdf", "this PDF is incomplete")
    return Described()
