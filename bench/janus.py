"""Janus 1.1.2 (Debian's ``janus``) as the C reference for the SFU benchmark.

Janus never gathers loopback candidates, so it runs in a network namespace of our own
(``csbench``) joined to this host by a veth pair: Janus on 10.77.0.2, the load on
10.77.0.1. Only the VideoRoom plugin and the HTTP transport are loaded. ``JanusClient``
speaks the HTTP API with long polling for events.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.proc import stop
from tests.support.server import wait_until_serving

NETNS = "csbench"
HOST_IF, JANUS_IF = "csb-host", "csb-janus"
HOST_IP, JANUS_IP = "10.77.0.1", "10.77.0.2"
JANUS_PORT = 8088
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def setup_netns() -> None:
    teardown_netns()
    _ip("netns", "add", NETNS)
    _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", JANUS_IF)
    _ip("link", "set", JANUS_IF, "netns", NETNS)
    _ip("addr", "add", f"{HOST_IP}/24", "dev", HOST_IF)
    _ip("link", "set", HOST_IF, "up")
    _ip("netns", "exec", NETNS, "ip", "addr", "add", f"{JANUS_IP}/24", "dev", JANUS_IF)
    _ip("netns", "exec", NETNS, "ip", "link", "set", JANUS_IF, "up")
    _ip("netns", "exec", NETNS, "ip", "link", "set", "lo", "up")


def teardown_netns() -> None:
    subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, check=False)


def _write_config(folder: Path) -> tuple[Path, Path, Path]:
    plugins, transports, empty = folder / "plugins", folder / "transports", folder / "empty"
    for path in (plugins, transports, empty):
        path.mkdir()
    (plugins / "libjanus_videoroom.so").symlink_to(LIB / "plugins" / "libjanus_videoroom.so")
    (transports / "libjanus_http.so").symlink_to(LIB / "transports" / "libjanus_http.so")
    (folder / "janus.jcfg").write_text(
        f"""general: {{
  configs_folder = "{folder}"
  plugins_folder = "{plugins}"
  transports_folder = "{transports}"
  events_folder = "{empty}"
  loggers_folder = "{empty}"
  debug_level = 2
  session_timeout = 120
}}
media: {{
  rtp_port_range = "40000-60000"
}}
nat: {{
  ice_enforce_list = "{JANUS_IF}"
  nice_debug = false
}}
plugins: {{}}
transports: {{}}
events: {{}}
loggers: {{}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
  json = "compact"
  base_path = "/janus"
  http = true
  port = {JANUS_PORT}
  ip = "{JANUS_IP}"
  https = false
}}
admin: {{ admin_http = false }}
cors: {{}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {}\n")
    return plugins, transports, empty


@contextlib.contextmanager
def run_janus() -> Iterator[subprocess.Popen[bytes]]:
    """Start Janus in its namespace; yields the process (its pid is what we measure)."""
    setup_netns()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_config(folder)
        log = (folder / "janus.log").open("wb")
        process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                NETNS,
                "janus",
                "-F",
                str(folder),
                "-C",
                str(folder / "janus.jcfg"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(f"http://{JANUS_IP}:{JANUS_PORT}/janus/info", process, 20, "janus")
            yield process
        finally:
            stop(process)
            teardown_netns()


def janus_pid(launcher: subprocess.Popen[bytes]) -> int:
    """``ip netns exec`` execs janus in place: the launcher's pid is Janus's."""
    return launcher.pid


class JanusError(RuntimeError):
    """An error event from the VideoRoom plugin."""


class JanusClient:
    """A Janus session over HTTP: create, attach handles, send messages, get events."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.base = f"http://{JANUS_IP}:{JANUS_PORT}/janus"
        self.session: int | None = None
        self._events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    @staticmethod
    def _tx() -> str:
        return str(random.getrandbits(48))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.base + path, json={**body, "transaction": self._tx()}) as r:
            data: dict[str, Any] = await r.json()
        if data.get("janus") == "error":
            raise RuntimeError(f"janus error: {data}")
        return data

    async def start(self) -> None:
        created = await self._post("", {"janus": "create"})
        self.session = int(created["data"]["id"])
        self._poller = asyncio.create_task(self._poll())

    async def attach(self) -> int:
        data = await self._post(
            f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        handle = int(data["data"]["id"])
        self._events[handle] = asyncio.Queue()
        return handle

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        return await self._post(f"/{self.session}/{handle}", payload)

    async def event(
        self, handle: int, want_jsep: bool = False, within: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            event = await asyncio.wait_for(self._events[handle].get(), deadline - time.monotonic())
            if event.get("janus") != "event":
                continue
            error = event.get("plugindata", {}).get("data", {}).get("error")
            if error:
                raise JanusError(str(error))
            if not want_jsep or "jsep" in event:
                return event

    async def _poll(self) -> None:
        last_keepalive = time.monotonic()
        while True:
            try:
                async with self.http.get(f"{self.base}/{self.session}?maxev=20") as r:
                    data = await r.json()
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.1)
                continue
            for event in data if isinstance(data, list) else [data]:
                sender = event.get("sender")
                if sender in self._events:
                    self._events[sender].put_nowait(event)
            if time.monotonic() - last_keepalive > 20:
                await self._post(f"/{self.session}", {"janus": "keepalive"})
                last_keepalive = time.monotonic()

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self._post(f"/{self.session}", {"janus": "destroy"})
