"""A network namespace joined to this host by a veth pair, for a browser behind a link
the test can cut. Needs root and iproute2 (``ip``); CI runs as root.

    host side  <veth>  namespace
    10.x.y.1           10.x.y.2

Cutting sets the host end down: nothing passes either way, and both ends' addresses
and connected routes come back when it is set up again.
"""

from __future__ import annotations

import os
import random
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.engines import require_binary


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, timeout=30, capture_output=True)


@dataclass
class Namespace:
    name: str
    host_if: str
    host_ip: str
    ns_ip: str

    def cut(self, cut: bool) -> None:
        _ip("link", "set", self.host_if, "down" if cut else "up")

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
    name, host_if, ns_if = f"cs{tag}", f"vh{tag}", f"vn{tag}"
    net = f"10.{random.randrange(100, 250)}.{random.randrange(1, 250)}"
    ns = Namespace(name, host_if, f"{net}.1", f"{net}.2")
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", f"{ns.host_ip}/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        inside = ("netns", "exec", name, "ip")
        _ip(*inside, "addr", "add", f"{ns.ns_ip}/24", "dev", ns_if)
        _ip(*inside, "link", "set", ns_if, "up")
        _ip(*inside, "link", "set", "lo", "up")
        yield ns
    finally:
        subprocess.run(["ip", "link", "del", host_if], timeout=30, capture_output=True)
        subprocess.run(["ip", "netns", "del", name], timeout=30, capture_output=True)
