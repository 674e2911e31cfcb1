"""Two server processes (``serve --processes 2``) behind a real nginx with TLS, on a
real redis-server: what ``consult-server proxy-config`` writes, as an operator runs it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Page, Playwright

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    launch,
    login,
    picture,
)
from tests.support.nginx import nginx, self_signed, site_config
from tests.support.redis_server import redis_server
from tests.support.server import RunningServer, free_port, free_ports, run_server

NODE_NAME = "hc"
_ROOM_GET = re.compile(r'"GET /consults/(\d+)/room HTTP/[\d.]+" 200 (\S+)')
_SOCKET = re.compile(r'"GET /node/([^/]+)/socket\.io/\S* HTTP/[\d.]+" 101 (\S+)')


@dataclass
class Cluster:
    server: RunningServer
    #: nginx's https:// address.
    base: str
    #: The shared port; node I listens on port + 1 + I.
    port: int
    redis_url: str
    tmp: Path

    def served(self) -> list[tuple[str, str]]:
        """(``room`` or ``socket:<node>``, upstream) of each room page and room socket
        nginx passed on (a WebSocket is logged when it closes)."""
        log = (self.tmp / "nginx" / "access.log").read_text()
        return [("room", m.group(2)) for m in _ROOM_GET.finditer(log)] + [
            (f"socket:{m.group(1)}", m.group(2)) for m in _SOCKET.finditer(log)
        ]

    def node_pids(self) -> dict[int, int]:
        """Node index -> pid of the supervisor's children now."""
        return node_pids(self.server)


def node_pids(server: RunningServer) -> dict[int, int]:
    """Node index -> pid of a ``serve --processes`` supervisor's children now."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = {}
    for child in children:
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if b"--node-index" in argv:
            found[int(argv[argv.index(b"--node-index") + 1])] = int(child)
    return found


@contextmanager
def nginx_cluster(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    port = free_ports(3)
    proxy_port = free_port()
    cert, key = self_signed(tmp)
    with redis_server(tmp) as redis_url:
        env = {
            "CONSULT_REDIS_URL": redis_url,
            "CONSULT_SERVER_PROCESSES": "2",
            "CONSULT_SERVER_PORT": str(port),
            "CONSULT_SERVER_NODE_ROUTES": "proxy",
            "CONSULT_SERVER_NODE_NAME": NODE_NAME,
            "CONSULT_SERVER_TRUSTED_PROXIES": "127.0.0.1",
            **(extra_env or {}),
        }
        site = site_config(
            tmp,
            env,
            [
                "--listen",
                str(proxy_port),
                "--server-name",
                "localhost",
                "--certificate",
                str(cert),
                "--certificate-key",
                str(key),
                "--no-http-redirect",
            ],
        )
        assert f"location /node/{NODE_NAME}-0/" in site, site
        assert f"location /node/{NODE_NAME}-1/" in site, site
        # Upstreams written to the log, to tell which process served what.
        site = site.replace(
            "map $http_upgrade",
            "log_format upstreams '$remote_addr \"$request\" $status $upstream_addr';\n"
            f"access_log {tmp}/nginx/access.log upstreams;\n\nmap $http_upgrade",
            1,
        )
        with (
            run_server(tmp, env, port=port) as server,
            nginx(tmp, site, proxy_port) as base,
        ):
            yield Cluster(server, base, port, redis_url, tmp)


@asynccontextmanager
async def two_sides(
    playwright: Playwright, tmp: Path, base: str
) -> AsyncIterator[tuple[Page, Page]]:
    """The clinician's and the specialist's Chromiums (each its own picture), signed in
    at ``base`` (nginx's self-signed TLS accepted); closed when the block ends."""
    browsers = [
        await launch(playwright, picture(tmp, "clinician", CLINICIAN_PICTURE)),
        await launch(playwright, picture(tmp, "specialist", SPECIALIST_PICTURE)),
    ]
    try:
        pages = [
            await login(browser, base, name, ignore_https_errors=True)
            for browser, name in zip(browsers, ("clinician.demo", "specialist.demo"), strict=True)
        ]
        yield pages[0], pages[1]
    finally:
        for browser in browsers:
            await browser.close()
