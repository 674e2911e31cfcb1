"""A UDP relay between two endpoints on loopback that delays, loses and cuts packets.

Two sockets stand in for the two ends: ``a_side`` is where A sends to reach B (tell A
that B is there), ``b_side`` where B sends to reach A. A packet from A on ``a_side`` is
sent on to B from ``b_side``, so B's answers come back to ``b_side`` and go on to A from
``a_side``: both ends see one consistent address for the other.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any, cast


@dataclass
class LinkShape:
    #: One-way delay added to each packet, seconds.
    delay: float = 0.0
    #: Probability a packet is dropped.
    loss: float = 0.0
    #: While True every packet is dropped (a total cut).
    cut: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(7))


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay) -> None:
        self.relay = relay
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (the selector loop's datagram transport does not subclass DatagramTransport)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.peer = (addr[0], addr[1])
        self.relay.forward(self, data)


class UdpRelay:
    def __init__(self, a: tuple[str, int], b: tuple[str, int], shape: LinkShape) -> None:
        self.a = a
        self.b = b
        self.shape = shape
        self.a_side = _Side(self)
        self.b_side = _Side(self)
        self.forwarded = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self.a_side, local_addr=("127.0.0.1", 0))
        await loop.create_datagram_endpoint(lambda: self.b_side, local_addr=("127.0.0.1", 0))

    def address(self, side: _Side) -> tuple[str, int]:
        assert side.transport is not None
        host, port = side.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def forward(self, came_in: _Side, data: bytes) -> None:
        shape = self.shape
        if shape.cut or (shape.loss and shape.rng.random() < shape.loss):
            return
        out, to = (self.b_side, self.b) if came_in is self.a_side else (self.a_side, self.a)
        transport = out.transport
        if transport is None:
            return
        self.forwarded += 1
        if shape.delay:
            asyncio.get_running_loop().call_later(shape.delay, transport.sendto, data, to)
        else:
            transport.sendto(data, to)

    def close(self) -> None:
        for side in (self.a_side, self.b_side):
            if side.transport is not None:
                side.transport.close()
