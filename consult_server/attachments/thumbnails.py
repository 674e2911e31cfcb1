"""Small JPEG previews for the attachment lists, made from the stored file in a worker
thread (never on the event loop) and kept beside it by its SHA-256.

Photos are turned upright by their EXIF orientation; a DICOM's middle frame is shown
through its own modality and VOI transforms (MONOCHROME1 inverted); a clip gives its
first frame. A PDF, or a DICOM whose compression has no decoder here, gets none and the
page shows an icon instead.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import av
import numpy as np
import pydicom
from PIL import Image, ImageOps
from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array

from consult_server.attachments.sniff import Kind

SIZE = 256


def make_thumbnail(path: Path, kind: Kind) -> bytes | None:
    """A JPEG at most ``SIZE`` pixels on its longer side, or None if none can be made."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            image = _image(path, kind)
        except Exception:
            return None
    if image is None:
        return None
    image.thumbnail((SIZE, SIZE))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def _image(path: Path, kind: Kind) -> Image.Image | None:
    if kind.is_photo:
        with Image.open(path) as opened:
            return ImageOps.exif_transpose(opened)
    if kind is Kind.DICOM:
        return _dicom(path)
    if kind.is_clip:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                return image
    return None


def _dicom(path: Path) -> Image.Image:
    header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    frames = int(header.get("NumberOfFrames") or 1)
    pixels = pixel_array(path, index=frames // 2)
    # Every n-th row and column first: the preview is small, the frame may not be.
    step = max(1, max(pixels.shape[:2]) // (2 * SIZE))
    pixels = pixels[::step, ::step]
    if int(header.get("SamplesPerPixel", 1)) == 3:
        return Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    values = apply_voi_lut(apply_modality_lut(pixels, header), header).astype(np.float32)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255 if high > low else values * 0
    if header.get("PhotometricInterpretation") == "MONOCHROME1":
        scaled = 255 - scaled
    return Image.fromarray(scaled.astype(np.uint8))
