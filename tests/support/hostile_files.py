"""Files built to hurt, made in the tests (nothing downloaded, nothing binary checked in):
decompression bombs, truncated and self-referencing containers, polyglots, DICOM with
lying lengths and deep sequences, metadata in every photo form. Each is (name, bytes,
what the server must do): "refuse" (a clear 4xx, nothing kept) or "clean" (kept, with
nothing of what the ``leaks`` list holds left in the stored bytes).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field

from PIL import Image, PngImagePlugin
from pydicom.uid import DeflatedExplicitVRLittleEndian

from tests.support import sample_files

SCRIPT = b"<script>alert(document.cookie)</script>"
HTML = b"<html><body><h1>Xin chao</h1>" + SCRIPT + b"</body></html>"


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    #: "refuse": a 4xx with a code, nothing kept; "clean": kept, without ``leaks``.
    expect: str
    leaks: tuple[bytes, ...] = field(default_factory=tuple)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, rows: int | None = None, rgba: bool = False) -> bytes:
    """A grayscale (or RGBA) PNG of ``width`` × ``height`` zeros: its whole pixel data
    deflated (kilobytes that inflate to hundreds of megabytes), or only ``rows`` of it
    (a lie)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width * (4 if rgba else 1) + 1)
    body = bytearray()
    for _ in range(height if rows is None else rows):
        body += compressor.compress(row)
    body += compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", bytes(body))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header claims ``width`` × ``height``."""
    out = io.BytesIO()
    sample_files.pattern().save(out, "JPEG")
    data = bytearray(out.getvalue())
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def dicom_claiming(rows: int, columns: int, frames: int = 1) -> bytes:
    ds = sample_files.ct_slice()
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    return sample_files.dicom_bytes(ds)


def dicom_deflate_bomb(megabytes: int = 400) -> bytes:
    """Deflated Explicit VR Little Endian whose dataset inflates to ``megabytes``: a
    private OB element of zeros, deflated to a few hundred kilobytes."""
    ds = sample_files.ct_slice()
    ds.add_new(0x00091010, "OB", bytes(megabytes * 1024 * 1024))
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def dicom_lying_length() -> bytes:
    """Pixel data whose length says far more than the file holds."""
    data = bytearray(sample_files.ct_dicom())
    at = data.rfind(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    # Explicit VR "OW": tag, VR, two reserved bytes, then a 4-byte length.
    struct.pack_into("<I", data, at + 8, 0x7FFFFFF0)
    return bytes(data)


def dicom_deep_sequences(depth: int = 5000) -> bytes:
    """Sequences nested ``depth`` deep (undefined lengths) just before the image, written
    by hand: pydicom itself cannot write what it would have to read here."""
    data = sample_files.dicom_bytes(sample_files.ct_slice())
    # Explicit VR little endian: (0040,0260) SQ of one item holding the next SQ.
    opening = b"\x40\x00\x60\x02SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    nested = opening * depth + closing * depth
    at = data.rfind(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    return data[:at] + nested + data[at:]


def mp4_truncated() -> bytes:
    data = sample_files.clip_bytes("mp4", frames=20)
    return data[: len(data) // 2]


def mp4_self_referencing() -> bytes:
    """A top-level box that claims to hold the whole file again and again: a 'moov'
    whose size points past the end, holding a 'trak' whose size is the file's."""
    data = sample_files.clip_bytes("mp4", frames=5)
    box = struct.pack(">I4s", 0xFFFFFFF0, b"moov") + struct.pack(">I4s", len(data) * 1000, b"trak")
    return data[:32] + box + data[32:]


def mp4_nested_boxes(depth: int = 20_000) -> bytes:
    """'ftyp' then boxes nested 20,000 deep ('moov' holding 'moov'…)."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    body = b""
    for _ in range(depth):
        body = struct.pack(">I4s", 8 + len(body), b"moov") + body
    return ftyp + body


def webm_truncated() -> bytes:
    data = sample_files.clip_bytes("webm", frames=20)
    return data[: len(data) // 2]


def webm_huge_element() -> bytes:
    """A WebM whose Segment claims 2^56 bytes (EBML's largest size)."""
    data = bytearray(sample_files.clip_bytes("webm", frames=5))
    at = data.find(b"\x18\x53\x80\x67")  # Segment
    data[at + 4 : at + 12] = b"\x01\xff\xff\xff\xff\xff\xff\xfe"
    return bytes(data)


def pdf_truncated() -> bytes:
    data = sample_files.pdf_bytes()
    return data[: len(data) // 2]


def pdf_self_referencing() -> bytes:
    """An xref whose /Prev is itself (a reader following it never ends)."""
    body = (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    )
    xref_at = len(body)
    xref = b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    trailer = f"trailer << /Size 3 /Root 1 0 R /Prev {xref_at} >>\nstartxref\n{xref_at}\n%%EOF\n"
    return body + xref + trailer.encode()


def pdf_with_script() -> bytes:
    """A PDF that runs JavaScript when opened and holds an HTML page."""
    body = (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"3 0 obj << /S /JavaScript /JS (app.alert('x')) >> endobj\n"
        b"% " + HTML + b"\n"
    )
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg_polyglot() -> bytes:
    """A JPEG with an HTML page in a comment, in an APP segment and after its end."""
    out = io.BytesIO()
    sample_files.pattern().save(out, "JPEG", comment=HTML)
    data = out.getvalue()
    app = b"\xff\xe9" + struct.pack(">H", len(HTML) + 2) + HTML
    return data[:2] + app + data[2:] + HTML


def jpeg_every_metadata() -> bytes:
    """EXIF with GPS, XMP, IPTC, a comment and an appended second picture."""
    photo = sample_files.jpeg_with_gps()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>21,2N</exif:GPSLatitude></x:xmpmeta>"
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x5a\x00\x07HaGiang"
    segments = (
        b"\xff\xe1"
        + struct.pack(">H", len(xmp) + 2)
        + xmp
        + b"\xff\xed"
        + struct.pack(">H", len(iptc) + 2)
        + iptc
    )
    return photo[:2] + segments + photo[2:] + sample_files.jpeg_with_gps()


def png_every_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Nguyen Thi Hoa, HaGiang")
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta>GPSLatitude 21,2N</x:xmpmeta>", zip=False)
    info.add_itxt("Location", "HaGiang 22.8233", lang="vi")
    exif = Image.Exif()
    exif[sample_files.MAKE] = "PhoneMaker"
    out = io.BytesIO()
    sample_files.pattern().save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    return out.getvalue()


def corpus() -> list[Hostile]:
    leaks_photo = (b"PhoneMaker", b"GPSLatitude", b"HaGiang", b"Nguyen", b"patient photo")
    return [
        Hostile("png-50000x50000.png", png_bomb(50_000, 50_000, rows=16), "refuse"),
        # 196 MB of RGBA from 190 KB: past what one decoded picture may take.
        Hostile("png-bomb-7000x7000-rgba.png", png_bomb(7000, 7000, rgba=True), "refuse"),
        # 49 MB of gray from 47 KB: allowed, and decoded within the memory bound.
        Hostile("png-7000x7000-gray.png", png_bomb(7000, 7000), "clean"),
        Hostile("jpeg-50000x50000.jpg", jpeg_claiming(50_000, 50_000), "refuse"),
        Hostile("dicom-65535x65535.dcm", dicom_claiming(65535, 65535), "refuse"),
        Hostile("dicom-deflate-bomb.dcm", dicom_deflate_bomb(), "refuse"),
        Hostile("dicom-lying-length.dcm", dicom_lying_length(), "refuse"),
        Hostile("dicom-deep-sequences.dcm", dicom_deep_sequences(), "refuse"),
        Hostile("mp4-truncated.mp4", mp4_truncated(), "refuse"),
        Hostile("mp4-self-referencing.mp4", mp4_self_referencing(), "refuse"),
        Hostile("mp4-nested.mp4", mp4_nested_boxes(), "refuse"),
        Hostile("webm-truncated.webm", webm_truncated(), "refuse"),
        # FFmpeg reads through the lie; what is stored is a fresh container.
        Hostile("webm-huge-element.webm", webm_huge_element(), "clean"),
        Hostile("pdf-truncated.pdf", pdf_truncated(), "refuse"),
        Hostile("pdf-self-referencing.pdf", pdf_self_referencing(), "clean"),
        Hostile("pdf-with-script.pdf", pdf_with_script(), "clean"),
        Hostile("jpeg-polyglot.jpg", jpeg_polyglot(), "clean", (b"<script", b"<html")),
        Hostile("jpeg-every-metadata.jpg", jpeg_every_metadata(), "clean", leaks_photo),
        Hostile("png-every-metadata.png", png_every_metadata(), "clean", leaks_photo),
        Hostile(
            "mov-with-location.mov",
            sample_files.phone_clip("mov"),
            "clean",
            (b"iPhone", b"+22.8233", b"ISO6709"),
        ),
    ]
