"""From a received temporary file to a stored one: check it, scrub it, name it by hash.

The whole of it runs in one worker thread per upload, after the last byte arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consult_server.attachments.inspect import Described, Refused, describe
from consult_server.attachments.scrub import NotAnImage, scrub_jpeg, scrub_png
from consult_server.attachments.sniff import Kind
from consult_server.attachments.storage import BlobStore
from recordings.files import sha256_of


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    described: Described


def store(blobs: BlobStore, received: Path, received_sha256: str, kind: Kind) -> Stored:
    """Check ``received`` is a sound ``kind``, strip a photo's metadata, and move the
    result into the store. Raises ``Refused`` (the caller removes ``received``)."""
    described = describe(received, kind)
    path, sha256 = received, received_sha256
    if kind.is_photo:
        path = blobs.scratch()
        try:
            with received.open("rb") as src, path.open("wb") as dst:
                if kind is Kind.JPEG:
                    scrub_jpeg(src, dst, described.orientation)
                else:
                    scrub_png(src, dst)
        except NotAnImage:
            path.unlink(missing_ok=True)
            raise Refused(
                "bad_image", "this image cannot be read (damaged or incomplete)"
            ) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        sha256 = sha256_of(path)[0]
    size = path.stat().st_size
    blobs.keep(path, sha256)
    return Stored(sha256, size, described)
