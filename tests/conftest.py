"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import require_postgres
from tests.support.inproc import Harness, running_app
from tests.support.installed import build_wheel, install
from tests.support.postgres import PostgresServer

#: Every test that stores something runs on both engines.
ENGINES = ("sqlite", "postgresql")

#: Tests that run one after another on one worker of their own (``xdist_group``): real
#: browsers and real-time media use most of a core and judge frames by the clock, so
#: two of them never share the machine; the in-process tests share the other core.
#: The wheel is built once, by that worker, for the packaging test and the browsers.
SERIAL_GROUP = "serial"
_SERIAL_FOLDERS = ("browser", "media")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(config.rootpath).parts[1:2]
        if folder and (folder[0] in _SERIAL_FOLDERS or item.path.name == "test_packaging.py"):
            item.add_marker(pytest.mark.xdist_group(SERIAL_GROUP))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (a fresh database per test)."""
    server = PostgresServer(Path(require_postgres())).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Config overrides selecting the engine: SQLite in the data directory, or a fresh
    database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgres")
    return {"database.url": server.new_database()}


@pytest.fixture
async def harness(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Harness]:
    async with running_app(tmp_path, **database) as running:
        yield running


@pytest.fixture
async def clock_harness(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Harness]:
    """The app without its once-a-second ticker: the test passes the clock itself."""
    async with running_app(tmp_path, ticker=False, **database) as running:
        yield running


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout (once per test run)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed_cli(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``consult-server`` from that wheel in a fresh venv outside the checkout."""
    return install(wheel, tmp_path_factory.mktemp("installed") / "venv")
