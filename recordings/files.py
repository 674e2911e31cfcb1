"""Where a recording's files go and what names them: one place for the hub and the catalog.

A recorded session of a room is a directory (``recordings/<room>/<UTC start>``) holding
one WebM file per participant (``<user id>.webm``). The catalog stores the paths; the
media hub writes them; neither builds a name itself.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

#: The file name extension of a participant's recording (VP8 + Opus stream-copied into
#: WebM, which browsers play directly).
EXTENSION = ".webm"


@dataclass(frozen=True)
class RecordingFile:
    """One participant's finished file, as the media hub hands it to the catalog."""

    path: Path
    frames: int
    #: Frames the writer dropped because the disk did not keep up.
    dropped: int = 0


def session_directory(data_dir: Path, room: str, started_at: float) -> Path:
    """The directory of one recorded session of a room ("consult-12/20261201-101500")."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started_at))
    return data_dir / "recordings" / room / stamp


def recording_path(directory: Path, user_id: int) -> Path:
    """Where one participant's media of one session is written."""
    return directory / f"{user_id}{EXTENSION}"


def recorder_id() -> str:
    """This process, as the catalog names the one writing a recording."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sha256_of(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
