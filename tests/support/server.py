"""A real consult-server process on a free port with its own data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.proc import cpu_seconds, stop

DEMO_PASSWORD = "demo-password-for-tests"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def wait_until_serving(url: str, process: subprocess.Popen[Any], within: float, what: str) -> None:
    """Poll ``url`` until it answers; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (a server and its nodes' own)."""
    for _ in range(100):
        first = free_port()
        if first + count > 65535:
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        return cpu_seconds(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the server finds its code where it was installed
    env.update(
        {
            "CONSULT_DATA_DIR": str(data_dir),
            "CONSULT_SECURITY_SECRET_KEY": SECRET,
            "CONSULT_MEDIA_HOST_ADDRESSES": "127.0.0.1",
            "CONSULT_CONFIG": os.devnull,
        }
    )
    env.update(extra)
    return env


@contextmanager
def run_server(
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    name: str = "server",
    cli: Sequence[str] | None = None,
    port: int | None = None,
) -> Iterator[RunningServer]:
    """Start a server whose data lives in ``tmp/data`` (shared by servers given the same
    ``tmp``); its output goes to ``tmp/<name>.log``. ``cli``: the command to run (default:
    this checkout's code); it runs in ``tmp``, outside the checkout."""
    data_dir = tmp / "data"
    env = server_env(data_dir, extra_env or {})
    cli = list(cli) if cli is not None else [sys.executable, "-m", "consult_server"]
    subprocess.run(
        [*cli, "demo", "--password", DEMO_PASSWORD],
        env=env,
        check=True,
        timeout=60,
        cwd=tmp,
        stdout=subprocess.DEVNULL,  # a bench prints its JSON on stdout
    )
    port = port or free_port()
    log_path = tmp / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*cli, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, data_dir, log_path)
    try:
        try:
            wait_until_serving(server.url + "/healthz", process, 30, "consult-server")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{server.log()}") from None
        yield server
    finally:
        stop(process)
