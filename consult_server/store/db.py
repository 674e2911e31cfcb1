"""The SQL store: one aiosqlite connection (SQLite serialises writes anyway).

Queries run on aiosqlite's thread so a commit's fsync never stalls the event loop
that carries signaling and media.

Every use of the one connection holds ``_lock``: a transaction owns the connection
from its ``BEGIN IMMEDIATE`` to its ``COMMIT`` or ``ROLLBACK``. Without it two
coroutines' transactions collided ("cannot start a transaction within a transaction"),
and a plain write that landed inside another's failing transaction was rolled back
with it while its caller had been told it succeeded. Inside ``atomic()`` use the
``Transaction`` it yields, never the ``Database`` (the lock is not re-entrant).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from aiohttp.web import AppKey

Row = aiosqlite.Row
Params = Sequence[Any] | Mapping[str, Any]


class Transaction:
    """Statements inside one ``Database.atomic()`` block (all or none)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> tuple[int, int | None]:
        """Run one statement; return (rows changed, last row id)."""
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount, cursor.lastrowid


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

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
            async with self._lock:
                await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def execute(self, sql: str, params: Params = ()) -> tuple[int, int | None]:
        """Run one statement; return (rows changed, last row id)."""
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return cursor.rowcount, cursor.lastrowid

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def transaction(self, statements: Iterable[tuple[str, Params]]) -> None:
        """Run statements atomically (all or none)."""
        async with self.atomic() as tx:
            for sql, params in statements:
                await tx.execute(sql, params)


DB: AppKey[Database] = AppKey("db")
