"""Which candidates the media server contacts (issue 11: "the media server sends STUN
wherever a participant points it")."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from media.candidates import MAX_REMOTE_CANDIDATES, CandidatePolicy
from media.hub import MediaHub
from media.offer_screen import screen_offer
from tests.media.hostile_sdp import CHROMIUM_OFFER
from tests.support.peers import ClientPeer

SERVER = "203.0.113.5"
POLICY = CandidatePolicy.from_config(["10.20.0.0/16"], False, lambda: [SERVER])


@pytest.mark.parametrize(
    ("host", "port", "refusal"),
    [
        ("198.51.100.7", 50000, None),  # a public address: a 3G phone's, a NAT's
        ("10.20.3.4", 50000, None),  # inside the configured facility network
        ("10.21.3.4", 50000, "private"),
        ("192.168.1.20", 50000, "private"),
        ("172.16.0.9", 50000, "private"),
        ("100.64.1.1", 50000, "private"),
        ("fd00::2", 50000, "private"),
        ("127.0.0.1", 50000, "reserved"),
        ("127.8.9.1", 50000, "reserved"),
        ("::1", 50000, "reserved"),
        ("::ffff:127.0.0.1", 50000, "reserved"),
        ("0.0.0.0", 50000, "reserved"),  # noqa: S104
        ("169.254.1.1", 50000, "reserved"),
        ("fe80::1", 50000, "reserved"),
        ("224.0.0.251", 5353, "reserved"),
        ("255.255.255.255", 50000, "reserved"),
        (SERVER, 50000, "server_address"),
        ("::ffff:" + SERVER, 50000, "server_address"),
        ("2c0f:fe40::1", 50000, None),
        ("a1b2c3.local", 50000, "mdns"),
        ("printer.hospital.vn", 50000, "not_an_address"),
        ("198.51.100.7", 0, "no_port"),
        ("198.51.100.7", 70000, "no_port"),
    ],
)
def test_the_policy_contacts_only_addresses_a_participant_could_own(
    host: str, port: int, refusal: str | None
) -> None:
    assert POLICY.refusal(host, port) == refusal


def test_mdns_names_are_resolved_only_when_configured() -> None:
    assert CandidatePolicy.from_config([], True, list).refusal("a1b2.local", 5000) is None


def test_the_offer_keeps_only_usable_candidates() -> None:
    """Chromium's offer names 192.0.2.2 (kept: not private here) and fd00::2 (a
    unique-local address: dropped), over UDP and TCP (TCP dropped: the media server is
    UDP only)."""
    screened = screen_offer(CHROMIUM_OFFER, POLICY)
    kept = [line for line in screened.sdp.split("\r\n") if line.startswith("a=candidate:")]
    assert kept and all(" udp " in line and " 192.0.2.2 " in line for line in kept)
    assert screened.kept == 4  # one port per m-line
    assert screened.dropped == {"private": 4, "transport": 8}
    assert "a=end-of-candidates" not in screened.sdp


def test_an_offer_naming_thousands_of_targets_keeps_a_bounded_few() -> None:
    lines = CHROMIUM_OFFER.split("\r\n")
    at = lines.index("a=ice-ufrag:r1ze")
    flood = [
        f"a=candidate:{n} 1 udp 1 198.51.{n // 250}.{n % 250} 4000 typ host" for n in range(900)
    ]
    screened = screen_offer("\r\n".join(lines[:at] + flood + lines[at:]), POLICY)
    assert screened.kept == MAX_REMOTE_CANDIDATES
    assert screened.dropped["too_many"] == 900 + 4 - MAX_REMOTE_CANDIDATES


class _Listeners:
    """UDP sockets on loopback counting what reaches them."""

    def __init__(self, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            self.sockets.append(sock)

    def ports(self) -> list[int]:
        return [s.getsockname()[1] for s in self.sockets]

    def received(self) -> int:
        count = 0
        for sock in self.sockets:
            while True:
                try:
                    sock.recv(2048)
                except BlockingIOError:
                    break
                count += 1
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def listeners() -> Iterator[_Listeners]:
    opened = _Listeners(10)
    yield opened
    opened.close()


class _AnyAddress(CandidatePolicy):
    """The control: the hub before the policy, contacting whatever it is told."""

    def refusal(self, host: str, port: int) -> str | None:
        return None


def _with_targets(offer: str, ports: list[int]) -> str:
    """The offer naming ``ports`` on loopback as its candidates (and no others)."""
    lines = [
        line
        for line in offer.split("\r\n")
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    at = next(i for i, line in enumerate(lines) if line.startswith("a=ice-ufrag:"))
    targets = [f"a=candidate:t{p} 1 udp 2130706431 127.0.0.1 {p} typ host" for p in ports]
    return "\r\n".join(lines[:at] + targets + lines[at:])


@pytest.mark.parametrize("control", [False, True], ids=["policy", "control"])
async def test_loopback_targets_in_an_offer_or_trickled_get_no_packets(
    hub: MediaHub, listeners: _Listeners, control: bool
) -> None:
    """An offer (and trickled candidates) naming ten local services: the hub sends
    them nothing. (Every other media test shows calls still connect with all of a
    participant's loopback candidates left out: by the participant's own checks.)"""
    if control:
        hub.candidates = _AnyAddress()
    ports = listeners.ports()
    client = ClientPeer((200, 30, 30))
    try:
        # The client is gone before the hub reads its offer: nothing answers the checks.
        offer = _with_targets(await client.offer(), ports[:5])
        await client.close()
        await hub.handle_offer("consult:3", 1, offer, [])
        for port in ports[5:]:
            line = f"candidate:t{port} 1 udp 2130706431 127.0.0.1 {port} typ host"
            used = await hub.add_candidate("consult:3", 1, {"candidate": line, "sdpMid": "0"})
            assert used is control
        await asyncio.sleep(2.0)
        packets = listeners.received()
        if control:
            assert packets >= 10  # the hub would have sent STUN to every one
        else:
            assert packets == 0
    finally:
        await client.close()
