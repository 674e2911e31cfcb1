"""A teaching session on three nodes (``serve --processes 3``, a real redis-server) in
real browsers: the presenter's Chromium on the room's origin node, two viewers' Chromiums
each opening the room from another node. Each viewer's socket stays on the node that
served its page, and sees the presenter through that node's relay; the presenter counts
both; one edge node killed, the other's viewer goes on watching, and the killed node's
viewer sees the presenter again (the node restarted, its relay built again) with no
reload."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.browser import CENTRAL_PICTURE, launch, login, picture, wait_for_picture
from tests.support.cluster import node_pids
from tests.support.engines import CHROMIUM, require_binary
from tests.support.field import STATS_JS
from tests.support.redis_server import redis_server
from tests.support.server import free_ports, run_server

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]


async def frames(page: Page) -> int:
    return int((await page.evaluate(STATS_JS))["frames"])


async def test_two_viewers_on_two_nodes_watch_a_presenter_on_a_third(
    playwright: Playwright, tmp_path: Path
) -> None:
    require_binary(CHROMIUM, "Chromium")
    port = free_ports(4)
    with redis_server(tmp_path) as redis_url:
        env = {"CONSULT_REDIS_URL": redis_url, "CONSULT_SERVER_PROCESSES": "3"}
        with run_server(tmp_path, env, port=port) as server:
            browsers = [await launch(playwright, picture(tmp_path, "central", CENTRAL_PICTURE))]
            browsers += [await launch(playwright), await launch(playwright)]
            try:
                presenter = await login(browsers[0], server.url, "specialist.central")
                await presenter.get_by_test_id("nav-teaching").click()
                await presenter.get_by_test_id("teaching-title").fill("Đọc X-quang ngực")
                await presenter.get_by_test_id("teaching-submit").click()
                await presenter.wait_for_url("**/teaching/*/room")
                room_path = presenter.url.split(str(port), 1)[1]
                await presenter.get_by_test_id("prejoin-continue").click(timeout=30_000)
                await expect(presenter.get_by_test_id("local-video")).to_be_visible()
                origin = (await presenter.evaluate("window.consultRoom.place()"))["port"]
                edges = [p for p in (port + 1, port + 2, port + 3) if p != origin]

                # Each viewer opens the room from an edge node's own port.
                viewers: list[Page] = []
                for browser, name, edge in zip(
                    browsers[1:], ("clinician.demo", "clinician2.demo"), edges, strict=True
                ):
                    viewer = await login(browser, f"http://127.0.0.1:{edge}", name)
                    started = time.monotonic()
                    await viewer.goto(room_path)
                    waited = await wait_for_picture(viewer, CENTRAL_PICTURE, within=30)
                    print(
                        f"viewer on node port {edge}: picture {waited:.2f} s after the "
                        f"room's page was asked for ({time.monotonic() - started:.2f} s)"
                    )
                    place = await viewer.evaluate("window.consultRoom.place()")
                    assert place.get("port") == edge, place
                    viewers.append(viewer)
                await expect(presenter.get_by_test_id("room-viewers")).to_contain_text("2")

                # One edge node killed: the other's viewer goes on watching.
                index = edges[0] - port - 1
                os.kill(node_pids(server)[index], signal.SIGKILL)
                killed_at = time.monotonic()
                before = await frames(viewers[1])
                await asyncio.sleep(3)
                assert await frames(viewers[1]) > before + 30, "the other edge stopped"
                # The killed node's viewer: back without a reload, once the node is up
                # again (the supervisor restarts it) or on the node its page asks for.
                await viewers[0].evaluate("document.body.dataset.sameDocument = 'yes'")
                await wait_for_picture(viewers[0], CENTRAL_PICTURE, within=40)
                lost = await frames(viewers[0])
                deadline = time.monotonic() + 30
                while await frames(viewers[0]) < lost + 30:
                    assert time.monotonic() < deadline, "the killed edge's viewer never came back"
                    await asyncio.sleep(0.25)
                print(f"killed edge's viewer watching again {time.monotonic() - killed_at:.1f} s")
                assert await viewers[0].evaluate("document.body.dataset.sameDocument") == "yes"
                await expect(presenter.get_by_test_id("room-viewers")).to_contain_text(
                    "2", timeout=20_000
                )
            finally:
                for browser in browsers:
                    await browser.close()
