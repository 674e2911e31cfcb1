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
    install_rtp_fast_path,
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


def test_aioice_still_tries_stun_first_and_hands_data_to_the_receiver() -> None:
    source = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    assert "stun.parse_message(data)" in source
    assert "self.receiver.data_received(data, self.local_candidate.component)" in source


async def test_rtp_fast_path_skips_stun_for_media_and_keeps_it_for_stun() -> None:
    install_rtp_fast_path()
    got: list[bytes] = []
    requests: list[object] = []

    class Receiver:
        def data_received(self, data: bytes, component: int) -> None:
            got.append(data)

        def request_received(self, message: object, addr: object, protocol: object) -> None:
            requests.append(message)

    protocol = aioice.ice.StunProtocol(Receiver())  # type: ignore[arg-type]
    protocol.local_candidate = aioice.Candidate(
        foundation="1",
        component=1,
        transport="udp",
        priority=1,
        host="127.0.0.1",
        port=9,
        type="host",
    )
    rtp = bytes([0x80, 96]) + bytes(20)
    protocol.datagram_received(rtp, ("127.0.0.1", 5000))
    assert got == [rtp]
    request = aioice.stun.Message(
        message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST
    )
    protocol.datagram_received(bytes(request), ("127.0.0.1", 5000))
    assert len(requests) == 1 and got == [rtp], "STUN still takes the STUN path"


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
