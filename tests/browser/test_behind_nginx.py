"""Two server processes behind a real nginx with TLS, configured by ``consult-server
proxy-config``: two browsers whose room pages came from different processes meet on the
node holding their room, with pictures and sound both ways, their room sockets through
that node's ``/node/<id>/`` route."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    past_room_check,
    start_consult,
    wait_for_audio,
    wait_for_picture,
)
from tests.support.cluster import Cluster, nginx_cluster, two_sides
from tests.support.nginx import error_log

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]


def rooms_served(cluster: Cluster) -> list[str]:
    return [upstream for kind, upstream in cluster.served() if kind == "room"]


async def reload_until_other(cluster: Cluster, page: Page, other: str) -> str:
    """Reload a room page until a process other than ``other`` serves it (nginx takes
    the processes in turn, request by request, whoever asks)."""
    for attempt in range(12):
        before = len(rooms_served(cluster))
        if attempt % 2:  # a page's requests may keep the room's on one parity: shift it
            await page.request.get("/healthz")
        await page.reload()
        await past_room_check(page)
        served = rooms_served(cluster)
        assert len(served) > before, "nginx passed no room page on"
        if served[-1] != other:
            return served[-1]
    raise AssertionError(f"every room page came from {other}")


async def test_two_browsers_from_different_processes_meet_behind_nginx(
    playwright: Playwright, tmp_path: Path
) -> None:
    with nginx_cluster(tmp_path) as cluster:
        async with two_sides(playwright, tmp_path, cluster.base) as (clinician, specialist):
            await start_consult(clinician, specialist, "Sốt cao, phát ban")
            rooms = rooms_served(cluster)
            assert len(rooms) >= 2, cluster.served()
            if len(set(rooms[-2:])) == 1:
                await reload_until_other(cluster, specialist, rooms[-1])
            rooms = rooms_served(cluster)
            assert len(set(rooms[-2:])) == 2, rooms
            await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
            await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
            await wait_for_audio(clinician)
            await wait_for_audio(specialist)
        # nginx logs a WebSocket when it closes. Every room socket went through one
        # node's route, to that node's own port.
        await asyncio.sleep(1)
        sockets = {(kind, up) for kind, up in cluster.served() if kind.startswith("socket")}
        assert len(sockets) == 1, sockets
        ((route, upstream),) = sockets
        index = int(route.rsplit("-", 1)[1])
        assert upstream.endswith(f":{cluster.port + 1 + index}"), (route, upstream)
        log = cluster.server.log()
        assert " ERROR " not in log, log[-3000:]
        assert "[crit]" not in error_log(tmp_path) and "[emerg]" not in error_log(tmp_path)
