"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.inproc import Harness, running_app


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_app(tmp_path) as running:
        yield running


@pytest.fixture
async def clock_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """The app without its once-a-second ticker: the test passes the clock itself."""
    async with running_app(tmp_path, ticker=False) as running:
        yield running
