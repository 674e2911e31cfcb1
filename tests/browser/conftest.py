"""Fixtures for the browser tests: a real server process and Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Playwright, async_playwright

from tests.support.engines import CHROMIUM, require_binary
from tests.support.server import RunningServer, run_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    require_binary(CHROMIUM, "Chromium")
    with run_server(tmp_path, {"CONSULT_CONSULTS_ROOM_GRACE_SECONDS": "3"}) as running:
        yield running


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw
