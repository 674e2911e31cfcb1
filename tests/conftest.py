"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.inproc import Harness, running_app
from tests.support.installed import build_wheel, install


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_app(tmp_path) as running:
        yield running


@pytest.fixture
async def clock_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """The app without its once-a-second ticker: the test passes the clock itself."""
    async with running_app(tmp_path, ticker=False) as running:
        yield running


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout (once per test run)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed_cli(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``consult-server`` from that wheel in a fresh venv outside the checkout."""
    return install(wheel, tmp_path_factory.mktemp("installed") / "venv")
