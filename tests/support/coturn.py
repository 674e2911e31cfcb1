"""A real coturn (Debian's ``turnserver``) on free loopback ports, with the REST-API
shared secret (``use-auth-secret``) the server's credentials are made for."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.engines import require_binary
from tests.support.proc import stop
from tests.support.server import free_port

SECRET = "turn-secret-for-tests-0123456789abcdef"


@dataclass
class Coturn:
    port: int
    secret: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def coturn(tmp: Path) -> Iterator[Coturn]:
    binary = require_binary("turnserver", "coturn")
    port = free_port()
    relay_low = free_port()
    log_path = tmp / "coturn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "-n",  # no configuration file: everything is on this line
                "--listening-ip=127.0.0.1",
                f"--listening-port={port}",
                "--relay-ip=127.0.0.1",
                f"--min-port={relay_low}",
                f"--max-port={relay_low + 40}",
                "--use-auth-secret",
                f"--static-auth-secret={SECRET}",
                "--realm=consult.test",
                # The media server is on loopback in the tests; production configs deny
                # private ranges except the media server (docs/turn.md).
                "--allow-loopback-peers",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--no-multicast-peers",
                "--log-file=stdout",
                "--simple-log",
                "--verbose",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:  # coturn listens on TCP too: ready when that port answers
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"coturn did not start:\n{log_path.read_text()}") from None
                time.sleep(0.1)
        yield Coturn(port, SECRET, log_path)
    finally:
        stop(process)
