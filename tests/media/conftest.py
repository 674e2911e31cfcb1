"""A media hub on 127.0.0.1 for the real-peer media tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from media.hub import MediaHub
from media.ice_host import configure_host_addresses, reset_host_addresses


@pytest.fixture
async def hub() -> AsyncIterator[MediaHub]:
    configure_host_addresses(["127.0.0.1"])
    media = MediaHub()
    yield media
    await media.close()
    reset_host_addresses()
