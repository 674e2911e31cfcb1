"""The database engines: SQLite by default, PostgreSQL when a province outgrows it.

An operator writes the URL as they would anywhere (``postgresql://user:pw@host/db``,
``sqlite:///path``); this module picks the drivers (aiosqlite and psycopg 3 for the
server, the standard library's sqlite3 and psycopg for migrations and the CLI).

SQLite: every connection runs in WAL mode with foreign keys on and a 5 s busy timeout,
and a write transaction begins ``IMMEDIATE`` (it takes the write lock at once, so two
writers queue instead of one failing halfway); reads begin ``DEFERRED``.
PostgreSQL: READ COMMITTED; conditional writes (``WHERE version = :v``) and an
advisory lock for the audit chain make concurrent writers safe across processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_BACKENDS = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "postgres": POSTGRESQL}
_ASYNC_DRIVER = {SQLITE: "sqlite+aiosqlite", POSTGRESQL: "postgresql+psycopg"}
_SYNC_DRIVER = {SQLITE: "sqlite+pysqlite", POSTGRESQL: "postgresql+psycopg"}
#: The execution option that makes an SQLite transaction begin IMMEDIATE.
WRITE = "consult_write"


class BadDatabaseUrl(ValueError):
    pass


def parse(url: str) -> URL:
    """The operator's URL, checked: only SQLite and PostgreSQL (any driver named is
    replaced by ours). The error never repeats the URL (it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadDatabaseUrl("not a database URL") from None
    backend = _BACKENDS.get(parsed.drivername.partition("+")[0])
    if backend is None:
        raise BadDatabaseUrl("only sqlite:/// and postgresql:// databases are supported")
    if backend == SQLITE and not parsed.database:
        raise BadDatabaseUrl("an SQLite URL names a file: sqlite:///path/to/consult.sqlite3")
    if backend == POSTGRESQL and not parsed.database:
        raise BadDatabaseUrl("a PostgreSQL URL names a database: postgresql://host/dbname")
    return parsed.set(drivername=backend)


def backend_of(url: URL) -> str:
    return _BACKENDS[url.drivername.partition("+")[0]]


def safe_text(url: URL) -> str:
    """The URL for a log line or a message: the password hidden."""
    return url.render_as_string(hide_password=True)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # No implicit transactions from the driver: we say BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_async(url: URL, pool_size: int = 5) -> AsyncEngine:
    """The server's engine."""
    backend = backend_of(url)
    options: dict[str, Any] = {}
    if backend == POSTGRESQL:
        options = {"pool_size": pool_size, "max_overflow": 10, "pool_pre_ping": True}
    engine = create_async_engine(url.set(drivername=_ASYNC_DRIVER[backend]), **options)
    if backend == SQLITE:
        _sqlite_events(engine.sync_engine)
    return engine


def open_sync(url: URL) -> Engine:
    """An engine for migrations and the command line (no event loop)."""
    backend = backend_of(url)
    engine = create_engine(url.set(drivername=_SYNC_DRIVER[backend]))
    if backend == SQLITE:
        _sqlite_events(engine)
    return engine
