"""Where attached files live: ``<data.dir>/files/sha256/ab/abcdef…``, named by the
SHA-256 of their content, so a file sent twice is stored once and a stored file's name
says what it must hash to.

An upload is written to ``files/incoming/`` while it arrives and moved into place only
when it was received whole and passed its checks; anything else (a cut connection, a
refusal, a crash) leaves no trace there after the next start. Directories are 0700 and
files 0600: medical data is nobody else's on the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from consult_server.attachments.sniff import HEAD_BYTES
from recordings.files import sha256_of

#: Arriving bytes are written in blocks of this size, each in a worker thread, so a
#: slow disk never stalls the event loop.
WRITE_BLOCK = 1024 * 1024


class Incoming:
    """One upload being written to a temporary file: its size, SHA-256 and first bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")

    async def write(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self.size += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= WRITE_BLOCK:
            await self._flush()

    async def _flush(self) -> None:
        block = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await asyncio.to_thread(self._write_block, block)

    def _write_block(self, block: bytes) -> None:
        self._digest.update(block)
        self._file.write(block)

    async def finish(self) -> str:
        """Everything written and on disk; the SHA-256 of what was received."""
        await self._flush()
        await asyncio.to_thread(self._close, True)
        return self._digest.hexdigest()

    def _close(self, sync: bool) -> None:
        if self._file.closed:
            return
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        self._close(False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"

    def prepare(self) -> None:
        """Create the directories and forget uploads a stopped process left half-done."""
        for directory in (self.root, self.incoming, self.root / "sha256", self.root / "thumbs"):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for leftover in self.incoming.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()

    def path_of(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def thumbnail_of(self, sha256: str) -> Path:
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def scratch(self) -> Path:
        """A fresh name in the incoming directory (for a rewritten copy)."""
        return self.incoming / uuid.uuid4().hex

    @contextlib.asynccontextmanager
    async def receiving(self) -> AsyncIterator[Incoming]:
        """A temporary file for one upload, removed on the way out unless ``keep`` moved it."""
        incoming = Incoming(self.scratch())
        try:
            yield incoming
        finally:
            await asyncio.to_thread(incoming.discard)

    def keep(self, path: Path, sha256: str) -> Path:
        """Move a checked file into its place by hash (a worker thread's job). A file
        already there with that hash is the same content: the new copy is dropped (unless
        the one there was damaged since: then the new copy replaces it)."""
        target = self.path_of(sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        if target.exists() and sha256_of(target)[0] == sha256:
            path.unlink()
        else:
            os.chmod(path, 0o600)
            os.replace(path, target)
        return target

    def save_thumbnail(self, sha256: str, data: bytes) -> None:
        target = self.thumbnail_of(sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        scratch = self.scratch()
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(scratch, target)
