"""A user-space link emulator (this kernel has no ``sch_netem``): rate, delay, loss and
cuts between a network namespace and this host, on two TUN devices.

    namespace: tun "a" 10.x.y.2  <->  this program  <->  tun "b" 10.x.y.1 :host

Each IP packet read from one TUN is written to the other after the direction's shape:
random loss, a total cut, a bottleneck of ``rate_kbps`` with a drop-tail queue of
``queue_ms`` (a packet that would wait longer is dropped, as a cellular buffer does),
then ``delay_ms`` of propagation. Packets keep their order within a direction.

Run as its own process (a busy test process must not add jitter to the link):
``python -m tests.support.linkemu NS TUN_A TUN_B NET`` as root; it prints ``ready``,
then takes one JSON object per line on stdin: ``{"up": {...}, "down": {...}}`` to set
the shapes (fields of ``Shape``), ``{"cut": true|false}``, ``{"stats": true}`` (answers
one JSON line of counters).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
import random
import struct
import subprocess
import sys
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


@dataclass
class Shape:
    rate_kbps: float = 0.0  # 0: no bottleneck
    delay_ms: float = 0.0
    loss: float = 0.0
    queue_ms: float = 300.0


@dataclass
class Direction:
    shape: Shape = field(default_factory=Shape)
    busy_until: float = 0.0
    forwarded: int = 0
    dropped_loss: int = 0
    dropped_queue: int = 0
    dropped_cut: int = 0


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Link:
    def __init__(self, fd_a: int, fd_b: int, seed: int = 7) -> None:
        self.fds = (fd_a, fd_b)
        self.up = Direction()  # a -> b: from the namespace
        self.down = Direction()  # b -> a: to the namespace
        self.cut = False
        self.rng = random.Random(seed)
        self.loop = asyncio.get_running_loop()

    def start(self) -> None:
        self.loop.add_reader(self.fds[0], self._pump, self.fds[0], self.fds[1], self.up)
        self.loop.add_reader(self.fds[1], self._pump, self.fds[1], self.fds[0], self.down)

    def _pump(self, source: int, target: int, way: Direction) -> None:
        for _ in range(64):  # drain a burst, then let the other side run
            try:
                packet = os.read(source, 65535)
            except BlockingIOError:
                return
            self._forward(packet, target, way)

    def _forward(self, packet: bytes, target: int, way: Direction) -> None:
        shape = way.shape
        if self.cut:
            way.dropped_cut += 1
            return
        if shape.loss and self.rng.random() < shape.loss:
            way.dropped_loss += 1
            return
        now = self.loop.time()
        leaves = now
        if shape.rate_kbps > 0:
            start = max(now, way.busy_until)
            if start - now > shape.queue_ms / 1000:
                way.dropped_queue += 1
                return
            leaves = start + len(packet) * 8 / (shape.rate_kbps * 1000)
            way.busy_until = leaves
        way.forwarded += 1
        self.loop.call_at(leaves + shape.delay_ms / 1000, _write, target, packet)

    def command(self, line: str) -> str | None:
        message = json.loads(line)
        for name in ("up", "down"):
            if name in message:
                way: Direction = getattr(self, name)
                way.shape = dataclasses.replace(Shape(), **message[name])
        if "cut" in message:
            self.cut = bool(message["cut"])
        if message.get("stats"):
            return json.dumps(
                {
                    name: {k: v for k, v in vars(getattr(self, name)).items() if k != "shape"}
                    for name in ("up", "down")
                }
            )
        return None


def _write(fd: int, packet: bytes) -> None:
    # OSError: the interface went away (shutting down) or its queue is full: lost.
    with contextlib.suppress(OSError):
        os.write(fd, packet)


async def main(namespace: str, tun_a: str, tun_b: str, net: str) -> None:
    fd_a, fd_b = open_tun(tun_a), open_tun(tun_b)
    ip("link", "set", tun_a, "netns", namespace)
    inside = ("netns", "exec", namespace, "ip")
    ip(*inside, "addr", "add", f"{net}.2/24", "dev", tun_a)
    ip(*inside, "link", "set", tun_a, "up")
    ip(*inside, "link", "set", "lo", "up")
    ip("addr", "add", f"{net}.1/24", "dev", tun_b)
    ip("link", "set", tun_b, "up")
    link = Link(fd_a, fd_b)
    link.start()
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line := (await reader.readline()).decode().strip():
        answer = link.command(line)
        if answer is not None:
            print(answer, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
