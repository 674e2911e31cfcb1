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
def installed_server(tmp_path: Path, installed_cli: Path) -> Iterator[RunningServer]:
    """The server from the wheel, installed in a fresh venv, run outside the checkout."""
    require_binary(CHROMIUM, "Chromium")
    env = {"CONSULT_CONSULTS_ROOM_GRACE_SECONDS": "3"}
    with run_server(tmp_path, env, cli=[str(installed_cli)]) as running:
        yield running


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw
