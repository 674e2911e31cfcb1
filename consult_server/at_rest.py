"""Medical data at rest is nobody else's on the host.

The server makes everything it writes private (umask 077: directories 0700, files
0600: the database and its WAL, recordings, uploads, the secret key) and, at start-up,
looks for anything under the data directory that others could read or enter, left by
an older version, a restore or a hand-made copy. ``security.loose_files`` says whether
that is a warning ("warn", the default, naming the paths) or stops the start ("refuse").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: How many loose paths a report names (a whole tree may be loose).
REPORTED = 10


def make_private() -> None:
    """Everything this process creates from now on is its user's alone."""
    os.umask(0o077)


def loose_paths(data_dir: Path) -> tuple[int, list[str]]:
    """How many paths under ``data_dir`` (itself included) are readable, writable or
    enterable by group or others, and the first few of them."""
    count = 0
    named: list[str] = []

    def check(path: str, mode: int) -> None:
        nonlocal count
        if stat.S_IMODE(mode) & 0o077:
            count += 1
            if len(named) < REPORTED:
                named.append(f"{path} ({stat.S_IMODE(mode):04o})")

    try:
        check(str(data_dir), os.stat(data_dir).st_mode)
    except OSError:
        return 0, []
    for root, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                check(path, os.lstat(path).st_mode)
            except OSError:
                continue
    return count, named
