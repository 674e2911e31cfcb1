"""Which local addresses and UDP ports aioice gathers host candidates on.

aioice (0.13.0, pinned) offers no per-connection option for either:

- addresses: it asks the module-level ``aioice.ice.get_host_addresses`` and leaves out
  127.0.0.1. We replace that function with one returning the configured media
  addresses (falling back to 127.0.0.1 when the host has no other address);
- the RTP fast path: every datagram goes through ``stun.parse_message`` first; media
  packets (first byte 128..191, RFC 7983) skip straight to the connection;
- ports: it binds ``loop.create_datagram_endpoint(..., local_addr=(address, 0))`` on
  ``asyncio.get_running_loop()``. We give ``aioice.ice`` an ``asyncio`` whose running
  loop binds port 0 to a free port of the configured range instead, so a hospital
  firewall can open a range, not the whole port space;
- consent freshness (RFC 7675): aioice sends one check every ~5 s with no
  retransmission and a 0.5 s timeout, and closes the connection after six misses in a
  row, so any round trip over 0.5 s (every Edge-class link) killed the call after ~30 s.
  Ours retransmits each check (0.5, 1, 2 s) and gives consent up only when no check
  has been answered for ``CONSENT_TIMEOUT`` (30 s, the RFC's figure), whatever the RTT.

Process-wide by nature (one media configuration per process). tests/media/test_ice_host.py
fails if an aioice upgrade moves or renames what this relies on.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

import aioice.ice
from aioice import stun

log = logging.getLogger(__name__)

_original_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_ICE_MODULE = vars(aioice.ice)
_original_asyncio = _ICE_MODULE["asyncio"]


class NoFreePort(OSError):
    def __init__(self, low: int, high: int) -> None:
        super().__init__(errno.EADDRINUSE, f"no free UDP port in the media range {low}-{high}")


class _RangeLoop:
    """The running loop, except that UDP port 0 means "a free port in the range"."""

    def __init__(self, loop: asyncio.AbstractEventLoop, low: int, high: int) -> None:
        self._loop = loop
        self._low = low
        self._high = high

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(
        self, factory: Any, local_addr: Any = None, **kw: Any
    ) -> Any:
        if local_addr is None or local_addr[1] != 0:
            return await self._loop.create_datagram_endpoint(factory, local_addr=local_addr, **kw)
        size = self._high - self._low + 1
        start = random.randrange(size)
        for step in range(size):
            port = self._low + (start + step) % size
            try:
                return await self._loop.create_datagram_endpoint(
                    factory, local_addr=(local_addr[0], port), **kw
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise NoFreePort(self._low, self._high)


def configure_host_addresses(addresses: Sequence[str]) -> None:
    """Advertise exactly ``addresses`` (or aioice's own choice when empty)."""
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if chosen:
            return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]
        found = _original_addresses(use_ipv4, use_ipv6)
        return found or (["127.0.0.1"] if use_ipv4 else [])

    aioice.ice.get_host_addresses = host_addresses


_interfaces: list[str] = []


def media_addresses() -> list[str]:
    """The server's own addresses: what media sockets advertise and every address of
    the host's interfaces (looked up once)."""
    if not _interfaces:
        _interfaces.extend(_original_addresses(True, True) or ["127.0.0.1"])
    return [*aioice.ice.get_host_addresses(True, True), *_interfaces]


def configure_port_range(low: int, high: int) -> None:
    """Bind media sockets to ports ``low``..``high`` (0, 0: any port)."""
    if (low, high) == (0, 0):
        _ICE_MODULE["asyncio"] = _original_asyncio
        return
    shim = types.ModuleType("asyncio_media_ports")
    shim.__dict__.update(_original_asyncio.__dict__)
    shim.get_running_loop = lambda: _RangeLoop(_original_asyncio.get_running_loop(), low, high)  # type: ignore[attr-defined]
    _ICE_MODULE["asyncio"] = shim


_original_datagram_received = aioice.ice.StunProtocol.datagram_received


def _datagram_received(self: aioice.ice.StunProtocol, data: bytes, addr: tuple[Any, ...]) -> None:
    # RFC 7983: a first byte of 128..191 is RTP/RTCP and never STUN. aioice would try
    # to parse every media packet as STUN first (and raise); skip that on the hot path.
    if data and 127 < data[0] < 192:
        self.receiver.data_received(data, self.local_candidate.component)
        return
    _original_datagram_received(self, data, addr)


def install_rtp_fast_path() -> None:
    """Hand RTP/RTCP datagrams straight to the connection (saves a STUN parse each)."""
    aioice.ice.StunProtocol.datagram_received = _datagram_received  # type: ignore[method-assign,assignment]


#: RFC 7675: consent is lost after 30 s without an answered check.
CONSENT_TIMEOUT = 30.0
#: Retransmissions of one check (sent at 0, 0.5, 1.5 and 3.5 s; given up at 7.5 s).
CONSENT_RETRANSMISSIONS = 3
_original_query_consent = aioice.ice.Connection.query_consent


async def _query_consent(self: aioice.ice.Connection) -> None:
    """RFC 7675 consent freshness that a slow or briefly cut link survives."""
    assert self.remote_password is not None
    key = self.remote_password.encode("utf8")
    answered = time.monotonic()
    while True:
        await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=key,
                    retransmissions=CONSENT_RETRANSMISSIONS,
                )
            except stun.TransactionError:
                continue
            answered = time.monotonic()
        silent = time.monotonic() - answered
        if silent >= CONSENT_TIMEOUT:
            log.warning("ICE consent expired: no check answered for %.0f s", silent)
            self._query_consent_task = None
            await self.close()
            return


def install_consent_freshness() -> None:
    """Replace aioice's consent check with one that tolerates slow links."""
    aioice.ice.Connection.query_consent = _query_consent  # type: ignore[method-assign]


def reset_host_addresses() -> None:
    aioice.ice.get_host_addresses = _original_addresses  # type: ignore[assignment]
    _ICE_MODULE["asyncio"] = _original_asyncio
    aioice.ice.StunProtocol.datagram_received = _original_datagram_received  # type: ignore[method-assign]
    aioice.ice.Connection.query_consent = _original_query_consent  # type: ignore[method-assign]
