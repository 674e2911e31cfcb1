"""A media hub on 127.0.0.1 for the real-peer media tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from media.hub import MediaHub
from media.ice_host import configure_host_addresses, install_rtp_fast_path, reset_host_addresses


@pytest.fixture
async def hub() -> AsyncIterator[MediaHub]:
    """As the server runs it: RTP past aioice's STUN parse, SRTP straight to DTLS."""
    configure_host_addresses(["127.0.0.1"])
    install_rtp_fast_path()
    media = MediaHub()
    yield media
    await media.close()
    reset_host_addresses()
