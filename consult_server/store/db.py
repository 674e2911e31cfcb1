"""The SQL store, on SQLAlchemy's asyncio engine: SQLite or PostgreSQL.

Each call takes a pooled connection for its own transaction, so one caller's failing
transaction can never take another's write with it. A write transaction
(``atomic()``, ``execute()``) begins ``IMMEDIATE`` on SQLite: writers queue on the
database's lock (5 s busy timeout) instead of failing halfway; PostgreSQL runs READ
COMMITTED, and the writes that race (first accept wins) are conditional on the row's
version. SQLite's queries run on aiosqlite's thread, PostgreSQL's on psycopg's async
connection: a commit's fsync never stalls the event loop that carries media.

Statements are SQL text with ``?`` or ``:name`` parameters, bound by SQLAlchemy for the
engine in use; rows come back as read-only mappings (``row["column"]``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.web import AppKey
from sqlalchemy import RowMapping, TextClause, event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consult_server.store.engine import POSTGRESQL, WRITE, backend_of, open_async

Row = RowMapping
Params = Sequence[Any] | Mapping[str, Any]


@functools.lru_cache(maxsize=1024)
def _clause(sql: str, count: int) -> tuple[TextClause, tuple[str, ...]]:
    """``?`` placeholders as named binds ``:p0, :p1…`` (SQLAlchemy renders each driver's
    own style); ``count`` is checked against the placeholders."""
    if "?" not in sql:
        return text(sql), ()
    pieces = sql.split("?")
    if len(pieces) - 1 != count:
        raise ValueError(f"{len(pieces) - 1} placeholders, {count} parameters")
    names = tuple(f"p{i}" for i in range(count))
    bound = pieces[0] + "".join(
        f":{name}{piece}" for name, piece in zip(names, pieces[1:], strict=True)
    )
    return text(bound), names


def _statement(sql: str, params: Params) -> tuple[TextClause, dict[str, Any]]:
    if isinstance(params, Mapping):
        return _clause(sql, 0)[0], dict(params)
    clause, names = _clause(sql, len(params))
    return clause, dict(zip(names, params, strict=True))


class Transaction:
    """Statements inside one ``Database.atomic()`` block (all or none)."""

    def __init__(self, conn: AsyncConnection, postgresql: bool) -> None:
        self.conn = conn
        #: The engine is PostgreSQL (for the few statements that differ).
        self.postgresql = postgresql

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the rows it changed."""
        result = await self.conn.execute(*_statement(sql, params))
        return int(result.rowcount)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        result = await self.conn.execute(*_statement(sql, params))
        return list(result.mappings())

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        result = await self.conn.execute(*_statement(sql, params))
        return result.mappings().first()

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT … RETURNING id``; return the new row's id."""
        row = await self.fetch_one(sql, params)
        if row is None:
            raise LookupError("the INSERT returned no row")
        return int(row["id"])


class Database:
    def __init__(self, url: URL) -> None:
        self.url = url
        self.backend = backend_of(url)
        self._engine: AsyncEngine | None = None

    @property
    def postgresql(self) -> bool:
        return self.backend == POSTGRESQL

    async def open(self) -> None:
        if self._engine is None:
            self._engine = open_async(self.url)

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database is not open")
        return self._engine

    def time_statements(self, observe: Callable[[float], None]) -> None:
        """Tell ``observe`` each statement's time in seconds (metrics)."""

        def before(conn: Any, *_: Any) -> None:
            conn.info.setdefault("consult_started", []).append(time.perf_counter())

        def after(conn: Any, *_: Any) -> None:
            started = conn.info.get("consult_started")
            if started:
                observe(time.perf_counter() - started.pop())

        event.listen(self.engine.sync_engine, "before_cursor_execute", before)
        event.listen(self.engine.sync_engine, "after_cursor_execute", after)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """One read-only snapshot (several queries that must agree): SQLite's deferred
        transaction; on PostgreSQL a REPEATABLE READ one (READ COMMITTED would give each
        statement its own snapshot)."""
        async with self.engine.connect() as conn:
            if self.postgresql:
                # For this transaction only: nothing to reset when the connection goes
                # back to the pool (a per-connection level cost two more round trips).
                await conn.exec_driver_sql(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
            yield Transaction(conn, self.postgresql)

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back if it
        raises. Use the ``Transaction`` it yields inside the block."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield Transaction(conn, self.postgresql)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """One query (its own statement is its snapshot)."""
        async with self.engine.connect() as conn:
            return await Transaction(conn, self.postgresql).fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self.engine.connect() as conn:
            return await Transaction(conn, self.postgresql).fetch_one(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; return the rows it changed."""
        async with self.atomic() as tx:
            return await tx.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one ``INSERT … RETURNING id`` in its own transaction; return the id."""
        async with self.atomic() as tx:
            return await tx.insert(sql, params)


DB: AppKey[Database] = AppKey("db")
