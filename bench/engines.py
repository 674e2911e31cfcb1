"""One benchmark on each database engine side by side: SQLite in a temporary directory,
and PostgreSQL as a throwaway server started here (Debian's binaries, fsync off like the
tests: compare engines, not disks)."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from consult_server.store.engine import parse
from tests.support.postgres import PostgresServer, find_bindir


async def on_engines(
    engines: Sequence[str], run: Callable[[URL], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """``run`` on a fresh database of each engine named ("sqlite", "postgresql")."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            if engine == "sqlite":
                url = URL.create("sqlite", database=str(Path(tmp) / "bench.sqlite3"))
                results[engine] = await run(url)
                continue
            bindir = find_bindir()
            if bindir is None:
                results[engine] = {"error": "PostgreSQL is not installed"}
                continue
            server = PostgresServer(bindir).start()
            try:
                results[engine] = await run(parse(server.new_database()))
            finally:
                server.stop()
    return results
