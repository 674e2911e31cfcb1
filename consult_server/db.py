"""The SQL store: one aiosqlite connection (SQLite serialises writes anyway).

Queries run on aiosqlite's thread so a commit's fsync never stalls the event loop
that carries signaling and media.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

Row = aiosqlite.Row


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
        ):
            await conn.execute(pragma)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def execute(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> tuple[int, int | None]:
        """Run one statement; return (rows changed, last row id)."""
        async with self.conn.execute(sql, params) as cursor:
            return cursor.rowcount, cursor.lastrowid

    async def transaction(
        self, statements: Iterable[tuple[str, Sequence[Any] | Mapping[str, Any]]]
    ) -> None:
        """Run statements atomically (all or none)."""
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                await self.conn.execute(sql, params)
        except BaseException:
            await self.conn.execute("ROLLBACK")
            raise
        await self.conn.execute("COMMIT")
