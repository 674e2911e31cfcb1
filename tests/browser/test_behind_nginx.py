"""Two server processes behind a real nginx with TLS, configured by ``consult-server
proxy-config``: two browsers whose room pages came from different processes meet on the
node holding their room, with pictures and sound both ways, their room sockets through
that node's ``/node/<id>/`` route."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    launch,
    login,
    past_room_check,
    picture,
    start_consult,
    wait_for_audio,
    wait_for_picture,
)
from tests.support.nginx import error_log, nginx, self_signed, site_config
from tests.support.redis_server import redis_server
from tests.support.server import free_port, free_ports, run_server

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]

_ROOM_GET = re.compile(r'"GET /consults/(\d+)/room HTTP/[\d.]+" 200 (\S+)')
_SOCKET = re.compile(r'"GET /node/([^/]+)/socket\.io/\S* HTTP/[\d.]+" 101 (\S+)')


def served(tmp: Path) -> list[tuple[str, str]]:
    """(path kind, upstream) of each room page and room socket nginx passed on."""
    log = (tmp / "nginx" / "access.log").read_text()
    return [("room", m.group(2)) for m in _ROOM_GET.finditer(log)] + [
        (f"socket:{m.group(1)}", m.group(2)) for m in _SOCKET.finditer(log)
    ]


def last_room_upstream(tmp: Path, before: int) -> str:
    rooms = [up for kind, up in served(tmp) if kind == "room"]
    assert len(rooms) > before, "nginx passed no room page on"
    return rooms[-1]


async def room_count(tmp: Path) -> int:
    return sum(kind == "room" for kind, _ in served(tmp))


async def reload_until_other(tmp: Path, page: Page, other: str) -> str:
    """Reload a room page until a process other than ``other`` serves it (nginx takes
    the processes in turn, request by request, whoever asks)."""
    for attempt in range(12):
        before = await room_count(tmp)
        if attempt % 2:  # a page's requests may keep the room's on one parity: shift it
            await page.request.get("/healthz")
        await page.reload()
        await past_room_check(page)
        upstream = last_room_upstream(tmp, before)
        if upstream != other:
            return upstream
    raise AssertionError(f"every room page came from {other}")


async def test_two_browsers_from_different_processes_meet_behind_nginx(
    playwright: Playwright, tmp_path: Path
) -> None:
    port = free_ports(3)
    proxy_port = free_port()
    cert, key = self_signed(tmp_path)
    with redis_server(tmp_path) as redis_url:
        env = {
            "CONSULT_REDIS_URL": redis_url,
            "CONSULT_SERVER_PROCESSES": "2",
            "CONSULT_SERVER_PORT": str(port),
            "CONSULT_SERVER_NODE_ROUTES": "proxy",
            "CONSULT_SERVER_NODE_NAME": "hc",
            "CONSULT_SERVER_TRUSTED_PROXIES": "127.0.0.1",
        }
        site = site_config(
            tmp_path,
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
        assert "location /node/hc-0/" in site and "location /node/hc-1/" in site, site
        # Upstreams written to the log, to tell which process served what.
        site = site.replace(
            "map $http_upgrade",
            "log_format upstreams '$remote_addr \"$request\" $status $upstream_addr';\n"
            f"access_log {tmp_path}/nginx/access.log upstreams;\n\nmap $http_upgrade",
            1,
        )
        with (
            run_server(tmp_path, env, port=port) as server,
            nginx(tmp_path, site, proxy_port) as base,
        ):
            browsers = [
                await launch(playwright, picture(tmp_path, "clinician", CLINICIAN_PICTURE)),
                await launch(playwright, picture(tmp_path, "specialist", SPECIALIST_PICTURE)),
            ]
            try:
                clinician, specialist = [
                    await login(browser, base, name, ignore_https_errors=True)
                    for browser, name in zip(
                        browsers, ("clinician.demo", "specialist.demo"), strict=True
                    )
                ]
                await start_consult(clinician, specialist, "Sốt cao, phát ban")
                rooms = [up for kind, up in served(tmp_path) if kind == "room"]
                assert len(rooms) >= 2, served(tmp_path)
                if len(set(rooms[-2:])) == 1:
                    await reload_until_other(tmp_path, specialist, rooms[-1])
                rooms = [up for kind, up in served(tmp_path) if kind == "room"]
                assert len(set(rooms[-2:])) == 2, rooms
                await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
                await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
                await wait_for_audio(clinician)
                await wait_for_audio(specialist)
            finally:
                for browser in browsers:
                    await browser.close()
            # nginx logs a WebSocket when it closes. Every room socket went through one
            # node's route, to that node's own port.
            await asyncio.sleep(1)
            sockets = {(kind, up) for kind, up in served(tmp_path) if kind.startswith("socket")}
            assert len(sockets) == 1, sockets
            ((route, upstream),) = sockets
            index = int(route.rsplit("-", 1)[1])
            assert upstream.endswith(f":{port + 1 + index}"), (route, upstream)
            assert " ERROR " not in server.log(), server.log()[-3000:]
            assert "[crit]" not in error_log(tmp_path) and "[emerg]" not in error_log(tmp_path)
