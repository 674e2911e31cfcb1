"""From a received temporary file to one ready to store: check it, scrub it, hash it.

Runs in one worker thread per upload, after the last byte arrived. Nothing is moved
into the store here: the caller catalogues the file first and keeps it only then, so a
refusal or a failure at any step leaves no blob that no catalog entry names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consult_server.attachments.clip_scrub import NotAClip, scrub_clip
from consult_server.attachments.inspect import Described, Refused, describe
from consult_server.attachments.scrub import NotAnImage, scrub_jpeg, scrub_png
from consult_server.attachments.sniff import Kind
from consult_server.attachments.storage import BlobStore
from recordings.files import sha256_of


@dataclass(frozen=True)
class Prepared:
    #: The file to keep: the received one, or its scrubbed copy (both in incoming/).
    path: Path
    sha256: str
    size: int
    described: Described


def prepare(blobs: BlobStore, received: Path, received_sha256: str, kind: Kind) -> Prepared:
    """Check ``received`` is a sound ``kind`` and strip a photo's or a clip's metadata
    (a clip by stream copy: the same packets in a new container). Raises
    ``Refused`` (the caller removes ``received``; a scrubbed copy is removed here)."""
    described = describe(received, kind)
    path, sha256 = received, received_sha256
    if kind.is_clip:
        path = blobs.scratch()
        try:
            scrub_clip(received, path, kind)
            sha256 = sha256_of(path)[0]
        except NotAClip:
            path.unlink(missing_ok=True)
            raise Refused("bad_clip", "this clip cannot be read (damaged or incomplete)") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    elif kind.is_photo:
        path = blobs.scratch()
        try:
            with received.open("rb") as src, path.open("wb") as dst:
                if kind is Kind.JPEG:
                    scrub_jpeg(src, dst, described.orientation)
                else:
                    scrub_png(src, dst)
            sha256 = sha256_of(path)[0]
        except NotAnImage:
            path.unlink(missing_ok=True)
            raise Refused(
                "bad_image", "this image cannot be read (damaged or incomplete)"
            ) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return Prepared(path, sha256, path.stat().st_size, described)
