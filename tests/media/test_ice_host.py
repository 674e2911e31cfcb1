"""Guard for media/ice_host.py, the one reach into aioice, and its two settings."""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Iterator

import aioice
import aioice.ice
import pytest

from media import ice_host
from media.ice_host import (
    NoFreePort,
    configure_host_addresses,
    configure_port_range,
    install_consent_freshness,
    install_rtp_fast_path,
    reset_host_addresses,
)
from tests.support.server import free_port
from tests.support.udp_relay import LinkShape, UdpRelay


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


def test_aioice_still_checks_consent_the_way_ice_host_replaces() -> None:
    source = inspect.getsource(aioice.ice.Connection.query_consent)
    assert "retransmissions=0" in source and "CONSENT_FAILURES" in source
    assert "self._query_consent_task = asyncio.create_task(self.query_consent())" in (
        inspect.getsource(aioice.ice.Connection.connect)
    )
    for name in ("_nominated", "build_request", "remote_password", "close"):
        assert name in inspect.getsource(aioice.ice.Connection), name
    assert isinstance(aioice.ice.CONSENT_INTERVAL, int | float)


async def connected_through(
    shape: LinkShape,
) -> tuple[aioice.Connection, aioice.Connection, UdpRelay]:
    """Two aioice connections on 127.0.0.1 that reach each other only via a relay."""
    configure_host_addresses(["127.0.0.1"])
    a = aioice.Connection(ice_controlling=True)
    b = aioice.Connection(ice_controlling=False)
    await a.gather_candidates()
    await b.gather_candidates()
    [ca], [cb] = a.local_candidates, b.local_candidates
    relay = UdpRelay((ca.host, ca.port), (cb.host, cb.port), shape)
    await relay.start()

    def via(candidate: aioice.Candidate, address: tuple[str, int]) -> aioice.Candidate:
        moved = copy.copy(candidate)
        moved.host, moved.port = address
        return moved

    await a.add_remote_candidate(via(cb, relay.address(relay.a_side)))
    await b.add_remote_candidate(via(ca, relay.address(relay.b_side)))
    await a.add_remote_candidate(None)
    await b.add_remote_candidate(None)
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 30)
    return a, b, relay


async def alive_after(a: aioice.Connection, b: aioice.Connection, seconds: float) -> bool:
    """Whether A's data still reaches B after ``seconds`` (consent not given up)."""
    await asyncio.sleep(seconds)
    try:
        await a.send(b"still there?")
        return await asyncio.wait_for(b.recv(), 5) == b"still there?"
    except (ConnectionError, TimeoutError):
        return False


@pytest.mark.slow  # a relayed link with a slow round trip and a cut, in real time
@pytest.mark.parametrize("ours", [False, True], ids=["aioice", "ice_host"])
async def test_consent_survives_a_slow_link_and_a_cut_shorter_than_the_timeout(
    ours: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0.8 s round trip (an Edge-class link) killed aioice's consent after six checks;
    ours answers it by retransmitting and keeps consent until a 30 s (here 4 s)
    silence. Time is scaled down: checks every 0.3 s instead of 5 s."""
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)
    monkeypatch.setattr(ice_host, "CONSENT_TIMEOUT", 4.0)
    if ours:
        install_consent_freshness()
    shape = LinkShape(delay=0.4)
    a, b, relay = await connected_through(shape)
    try:
        alive = await alive_after(a, b, 6.0)
        assert alive is ours, "aioice's own check gives a 0.8 s round trip up"
        if not ours:
            return
        shape.cut = True
        await asyncio.sleep(2.5)
        shape.cut = False
        assert await alive_after(a, b, 1.0), "a cut shorter than the timeout is survived"
        shape.cut = True
        await asyncio.sleep(4.0 + 2.0 + 1.0)  # timeout + one check's retransmissions
        shape.cut = False
        assert not await alive_after(a, b, 0.0), "consent is given up after the timeout"
    finally:
        relay.close()
        await a.close()
        await b.close()
