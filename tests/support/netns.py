"""A network namespace for a browser behind an emulated link (tests/support/linkemu.py:
rate, delay, loss, cuts). Needs root, iproute2 and /dev/net/tun; CI runs as root.

    namespace 10.x.y.2 --tun-- link emulator process --tun-- 10.x.y.1 this host

The browser in the namespace reaches the server at ``host_ip``; everything it sends
or receives crosses the emulator.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.support.engines import require_binary
from tests.support.linkemu import Shape
from tests.support.proc import stop

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Namespace:
    name: str
    host_ip: str
    ns_ip: str
    emulator: subprocess.Popen[str]

    def _send(self, message: dict[str, Any]) -> None:
        assert self.emulator.stdin is not None
        self.emulator.stdin.write(json.dumps(message) + "\n")
        self.emulator.stdin.flush()

    def shape(self, up: Shape, down: Shape) -> None:
        """``up``: from the namespace to the host; ``down``: back."""
        self._send({"up": asdict(up), "down": asdict(down)})

    def cut(self, cut: bool) -> None:
        """Drop everything both ways (True) or let it through again (False)."""
        self._send({"cut": cut})

    def stats(self) -> dict[str, Any]:
        self._send({"stats": True})
        assert self.emulator.stdout is not None
        answer: dict[str, Any] = json.loads(self.emulator.stdout.readline())
        return answer

    def wrapper(self, program: str, directory: Path) -> Path:
        """An executable that runs ``program`` with its arguments inside the namespace."""
        script = directory / f"in-{self.name}-{Path(program).name}"
        script.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {program} "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return script


@contextmanager
def namespace() -> Iterator[Namespace]:
    require_binary("ip", "iproute2")
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    name, tun_a, tun_b = f"cs{tag}", f"ta{tag}", f"tb{tag}"
    net = f"10.{random.randrange(100, 250)}.{random.randrange(1, 250)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    emulator = subprocess.Popen(
        [sys.executable, "-m", "tests.support.linkemu", name, tun_a, tun_b, net],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        if emulator.stdout.readline().strip() != "ready":
            raise RuntimeError("the link emulator did not start")
        yield Namespace(name, f"{net}.1", f"{net}.2", emulator)
    finally:
        stop(emulator)
        for pipe in (emulator.stdin, emulator.stdout):
            if pipe is not None:
                pipe.close()
        subprocess.run(["ip", "netns", "del", name], timeout=30, capture_output=True)
