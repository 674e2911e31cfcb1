"""A throwaway PostgreSQL server for the test session: Debian's binaries, a temporary
directory, a free port on 127.0.0.1, no fsync.

initdb and postgres refuse to run as root: when the tests run as root (CI) the server's
processes run as the ``postgres`` user of the Debian package (or ``nobody``), and the
directory is made directly under /tmp (pytest's own temporary directories are 0700 to
root). The server is told to die with its parent, so a killed test run leaves none.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
_names = itertools.count(1)


def find_bindir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    which = shutil.which("postgres")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ids: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            self._ids = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self) -> PostgresServer:
        self.base = Path(tempfile.mkdtemp(prefix="consult-pg-", dir="/tmp"))
        if self._ids:
            os.chown(self.base, self._ids["user"], self._ids["group"])
        data = self.base / "data"
        self._run(
            "initdb",
            *("-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"),
            *("--no-locale", "--no-sync"),
        )
        for _ in range(5):  # a free port can be taken between the probe and the bind
            self.port = _free_port()
            with (self.base / "postgres.log").open("ab") as log:
                self._proc = subprocess.Popen(
                    [
                        str(self.bindir / "postgres"),
                        *("-D", str(data), "-p", str(self.port)),
                        *("-c", "listen_addresses=127.0.0.1"),
                        *("-c", f"unix_socket_directories={self.base}"),
                        *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                        *("-c", "full_page_writes=off", "-c", "max_connections=200"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.base,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                    **self._ids,
                )
            if self._ready(data / "postmaster.pid"):
                return self
            self._kill()
        raise RuntimeError(f"postgres did not start: {self.log_tail()}")

    def stop(self) -> None:
        self._kill()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def url(self, database: str = "postgres") -> str:
        """As an operator writes it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                *("-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"),
                *("-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def log_tail(self, lines: int = 20) -> str:
        if self.base is None or not (self.base / "postgres.log").exists():
            return ""
        return "\n".join((self.base / "postgres.log").read_text().splitlines()[-lines:])

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / tool), *args],
            cwd=self.base,
            capture_output=True,
            text=True,
            **self._ids,
        )
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr or done.stdout}")

    def _ready(self, pidfile: Path, timeout: float = 30.0) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:  # the 8th line of postmaster.pid says "ready" once it accepts connections
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        return False

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            proc.send_signal(sig)
            try:
                proc.wait(10)
                return
            except subprocess.TimeoutExpired:
                continue
