"""Guard for media/ice_host.py, the one reach into aioice, and its two settings."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import aioice
import aioice.ice
import pytest

from media.ice_host import (
    NoFreePort,
    configure_host_addresses,
    configure_port_range,
    reset_host_addresses,
)
from tests.support.server import free_port


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    reset_host_addresses()


def test_aioice_still_gathers_the_way_ice_host_expects() -> None:
    assert aioice.__version__ == "0.13.0", "media/ice_host.py was checked against aioice 0.13.0"
    gather = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in gather
    assert list(inspect.signature(aioice.ice.get_host_addresses).parameters) == [
        "use_ipv4",
        "use_ipv6",
    ]
    component = inspect.getsource(aioice.ice.Connection.get_component_candidates)
    assert "asyncio.get_running_loop()" in component
    assert "loop.create_datagram_endpoint(" in component and "local_addr=(address, 0)" in component


async def gathered() -> list[tuple[str, int]]:
    connection = aioice.Connection(ice_controlling=True)
    await connection.gather_candidates()
    found = [(c.host, c.port) for c in connection.local_candidates]
    await connection.close()
    return found


async def test_configured_address_is_the_one_gathered() -> None:
    configure_host_addresses(["127.0.0.1"])
    assert {host for host, _ in await gathered()} == {"127.0.0.1"}


async def test_ports_come_from_the_configured_range_until_it_is_full() -> None:
    configure_host_addresses(["127.0.0.1"])
    low = free_port()
    configure_port_range(low, low + 1)
    connections = []
    try:
        ports = set()
        for _ in range(2):
            connection = aioice.Connection(ice_controlling=True)
            await connection.gather_candidates()
            connections.append(connection)
            ports |= {c.port for c in connection.local_candidates}
        assert ports <= {low, low + 1} and len(ports) == 2
        # The range is full: a third connection gathers nothing rather than leave it.
        third = aioice.Connection(ice_controlling=True)
        await third.gather_candidates()
        assert third.local_candidates == []
        connections.append(third)
    finally:
        for connection in connections:
            await connection.close()
    configure_port_range(0, 0)
    assert vars(aioice.ice)["asyncio"] is asyncio


def test_no_free_port_error_names_the_range() -> None:
    assert "40000-40010" in str(NoFreePort(40000, 40010))
