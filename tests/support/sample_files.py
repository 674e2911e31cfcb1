"""Real files of every kind a consult carries, made in the tests (nothing downloaded).

The DICOMs start from pydicom's bundled ``CT_small.dcm`` (a real CT slice); the rest are
written with Pillow and PyAV. Each picture holds a known pattern so a test can check
the pixels that come back.
"""

from __future__ import annotations

import io
import time
from fractions import Fraction

import av
import numpy as np
import pydicom
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

#: EXIF tags: GPS IFD pointer, orientation, camera maker.
GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def ct_slice(
    patient: tuple[str, str, str] = ("NGUYEN^THI HOA", "19680315", "F"),
) -> pydicom.Dataset:
    """The CT slice, of the tests' patient (as a hospital system writes her: no
    diacritics, family name first) unless ``patient`` (name, birth date, sex) says whom."""
    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    ds = pydicom.dcmread(path)
    ds.PatientName, ds.PatientBirthDate, ds.PatientSex = patient
    return ds


def dicom_bytes(ds: pydicom.Dataset, preamble: bool = True) -> bytes:
    out = io.BytesIO()
    if preamble:
        ds.save_as(out, enforce_file_format=True)
    else:
        ds.save_as(out, implicit_vr=False, little_endian=True)
    return out.getvalue()


def ct_dicom(
    instance: int = 1,
    series_uid: str | None = None,
    patient: tuple[str, str, str] = ("NGUYEN^THI HOA", "19680315", "F"),
) -> bytes:
    """One CT slice (128 × 128, 16-bit, 0.661468 mm pixels) of a series."""
    ds = ct_slice(patient)
    ds.InstanceNumber = instance
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if series_uid is not None:
        ds.SeriesInstanceUID = series_uid
    # A distinct picture per instance, so a viewer's frame can be told apart.
    pixels = ds.pixel_array.copy()
    pixels[:8, :] = instance * 100
    ds.PixelData = pixels.tobytes()
    return dicom_bytes(ds)


def multiframe_dicom(frames: int = 5, size: int = 64) -> bytes:
    """A multi-frame CT-like image: frame i is filled with the value 100 * i (mod 30000)."""
    ds = ct_slice()
    data = np.stack([np.full((size, size), 100 * i % 30000, dtype=np.int16) for i in range(frames)])
    ds.Rows = ds.Columns = size
    ds.NumberOfFrames = frames
    ds.PixelData = data.tobytes()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return dicom_bytes(ds)


def pattern(width: int = 64, height: int = 48) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (width // 2, 0, width, height))
    return image


def png_bytes(text: str = "") -> bytes:
    image = pattern()
    out = io.BytesIO()
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", text)
        image.save(out, "PNG", pnginfo=info)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(orientation: int = 6) -> bytes:
    """A photo as a phone takes it: EXIF with a GPS position, a maker and a rotation."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (21.0, 2.0, 3.5), 3: "E", 4: (105.0, 50.0, 1.2)})
    out = io.BytesIO()
    pattern().save(out, "JPEG", quality=95, exif=exif.tobytes(), comment=b"patient photo")
    return out.getvalue()


#: Where a phone says a clip was taken (a commune in Hà Giang), as ISO 6709.
LOCATION = "+22.8233+104.9836+120.000/"


def phone_clip(container: str = "mov", frames: int = 6) -> bytes:
    """A clip as a phone records it: H.264 (MPEG-4 part 2 here) with its location, maker
    and model in the container's tags (Apple's keys in a MOV, ISO 6709 in an MP4) and
    tags on its track."""
    out = io.BytesIO()
    options = {"movflags": "use_metadata_tags"} if container == "mov" else {}
    tags = {"handler_name": "Core Media Video", "language": "vie"}
    with av.open(out, "w", format=container, options=options) as output:
        output.metadata.update(
            {
                "location": LOCATION,
                "com.apple.quicktime.location.ISO6709": LOCATION,
                "com.apple.quicktime.make": "Apple",
                "com.apple.quicktime.model": "iPhone 15",
                "make": "Apple",
                "model": "iPhone 15",
            }
        )
        _encode_pattern(output, "mpeg4", frames, tags)
    return out.getvalue()


def clip_bytes(container: str = "webm", frames: int = 10) -> bytes:
    """A short clip (VP8 in WebM, MPEG-4 in MP4), 64 × 48, a few frames."""
    codec = "libvpx" if container == "webm" else "mpeg4"
    out = io.BytesIO()
    with av.open(out, "w", format=container) as output:
        _encode_pattern(output, codec, frames)
    return out.getvalue()


def _encode_pattern(
    output: av.container.OutputContainer,
    codec: str,
    frames: int,
    tags: dict[str, str] | None = None,
) -> av.VideoStream:
    """``frames`` of the pattern, 64 × 48 at 10 fps, encoded into ``output``."""
    stream = output.add_stream(codec, rate=10)
    assert isinstance(stream, av.VideoStream)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.time_base = Fraction(1, 10)
    stream.metadata.update(tags or {})
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.asarray(pattern()), format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode(None):
        output.mux(packet)
    return stream


def pdf_bytes() -> bytes:
    """A one-page PDF (a lab result), the same bytes every time: Pillow writes the
    current second as its dates, so two calls a second apart made two different files."""
    out = io.BytesIO()
    fixed = time.gmtime(1_764_576_000)  # 2025-12-01
    Image.new("RGB", (40, 40), "white").save(out, "PDF", creationDate=fixed, modDate=fixed)
    return out.getvalue()
