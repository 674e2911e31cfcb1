"""Is a recording's file still the one catalogued? Its SHA-256 says.

Hashing a long recording takes a while, and a player seeking through it asks for many
byte ranges, so a file that matched is remembered by its identity on disk (inode, size,
modification and change times): any write to it, or a file put in its place, changes
that identity and the next request hashes it again. The change time cannot be set back
by ordinary tools, so ``touch -d`` after an edit does not hide it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from recordings.files import sha256_of

_Identity = tuple[int, int, int, int]


def _identity(path: Path) -> _Identity:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class HashCheck:
    def __init__(self) -> None:
        self._verified: dict[tuple[str, str], _Identity] = {}
        self._running: dict[tuple[str, str], asyncio.Future[bool]] = {}

    async def matches(self, path: Path, expected: str) -> bool:
        """True when the file exists and hashes to ``expected``."""
        key = (str(path), expected)
        try:
            identity = await asyncio.to_thread(_identity, path)
        except OSError:
            return False
        if self._verified.get(key) == identity:
            return True
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            try:
                digest, _ = await asyncio.to_thread(sha256_of, path)
            except OSError:
                digest = ""
            ok = digest == expected
            if ok:
                self._verified[key] = identity
            else:
                self._verified.pop(key, None)
            future.set_result(ok)
            return ok
        finally:
            self._running.pop(key, None)
            if not future.done():
                future.cancel()
