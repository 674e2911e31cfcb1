"""A teaching session in real browsers: a specialist presents, a commune doctor watches."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import (
    CENTRAL_PICTURE,
    hidden_or_covered,
    launch,
    login,
    open_panel,
    picture,
    sample,
    shows,
    wait_for_picture,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def test_presenter_is_seen_by_a_viewer_who_sends_nothing(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    presenter_browser = await launch(playwright, picture(tmp_path, "central", CENTRAL_PICTURE))
    viewer_browser = await launch(playwright)
    try:
        presenter = await login(presenter_browser, server.url, "specialist.central")
        await presenter.get_by_test_id("nav-teaching").click()
        await presenter.get_by_test_id("teaching-title").fill("Đọc X-quang ngực")
        await presenter.get_by_test_id("teaching-submit").click()
        await presenter.wait_for_url("**/teaching/*/room")
        await presenter.get_by_test_id("prejoin-continue").click(timeout=30_000)
        await expect(presenter.get_by_test_id("local-video")).to_be_visible()

        # A laptop with a taskbar.
        viewer = await login(
            viewer_browser, server.url, "clinician2.demo", viewport={"width": 1366, "height": 620}
        )
        await viewer.get_by_test_id("nav-teaching").click()
        item = viewer.get_by_test_id("teaching-item").first
        await expect(item).to_contain_text("Đọc X-quang ngực")
        await item.get_by_test_id("teaching-join").click()
        await expect(viewer.get_by_test_id("local-video")).to_have_count(0)
        await expect(viewer.get_by_test_id("toggle-mic")).to_have_count(0)
        await expect(viewer.get_by_test_id("remote-video")).to_have_count(1)
        await wait_for_picture(viewer, CENTRAL_PICTURE, within=30)
        await expect(presenter.get_by_test_id("room-viewers")).to_contain_text("1")
        await expect(presenter.get_by_test_id("remote-video")).to_have_count(0)
        # The presenter is live, not "waiting for others"; the viewer sees them.
        await expect(presenter.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "live"
        )
        await expect(viewer.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "connected"
        )

        # A viewer asks; the presenter reads it and marks it answered; both see that.
        await open_panel(viewer, "qa")
        await viewer.get_by_test_id("qa-input").fill("Bóng tim to được đo thế nào?")
        await viewer.get_by_test_id("qa-send").click()
        asked = presenter.get_by_test_id("qa-item")
        await expect(asked).to_have_count(1)
        await expect(asked).to_contain_text("YS. Trần Thị Bình")
        await expect(asked).to_contain_text("Bóng tim to được đo thế nào?")
        await asked.get_by_test_id("qa-answered").click()
        await expect(viewer.get_by_test_id("qa-item")).to_have_attribute("data-answered", "true")
        await expect(asked.get_by_test_id("qa-answered")).to_have_count(0)
        assert await serious_violations(viewer) == []
        assert await serious_violations(presenter) == []

        # The presenter shares a screen: the viewer sees it large, the presenter small.
        await presenter.get_by_test_id("share-screen").click()
        await expect(presenter.get_by_test_id("share-screen")).to_have_attribute(
            "aria-pressed", "true"
        )
        # The presenter sees what they share, large.
        own = presenter.get_by_test_id("local-screen")
        await expect(own).to_be_visible()
        own_box = await own.bounding_box()
        assert own_box and own_box["width"] > 600, own_box
        remote = viewer.get_by_test_id("remote-video")
        await expect(remote).to_have_count(2)
        screen_tile = viewer.locator(".tile.screen")
        await expect(screen_tile.get_by_test_id("participant-state")).to_have_text(
            "Màn hình của PGS. Phạm Quốc Dũng"
        )
        # Its picture is the screen's (1280×720, not the camera's), the camera's still
        # the presenter's.
        await viewer.wait_for_function(
            """() => { const v = document.querySelector('.tile.screen video');
                       return v && v.videoWidth === 1280 && v.videoHeight === 720; }""",
            timeout=30_000,
        )
        assert not shows(await sample(viewer, 1), CENTRAL_PICTURE)
        # The camera's tile is fed by the connection rebuilt for the screen: its first
        # frame may come a moment after the screen's (CI once sampled it just before).
        await wait_for_picture(viewer, CENTRAL_PICTURE, within=10, index=0)
        boxes = [await remote.nth(i).bounding_box() for i in (0, 1)]
        assert boxes[0] and boxes[1] and boxes[1]["width"] > 3 * boxes[0]["width"], boxes
        for size in ((1366, 620), (390, 844)):
            await viewer.set_viewport_size({"width": size[0], "height": size[1]})
            await viewer.wait_for_timeout(300)
            problems = await hidden_or_covered(viewer, ("remote-video", "participant-state"))
            assert problems == [], (size, problems)
        assert await serious_violations(viewer) == []

        # Stopped: the viewer's stage is the presenter's picture again.
        await presenter.get_by_test_id("share-screen").click()
        await expect(presenter.get_by_test_id("share-screen")).to_have_attribute(
            "aria-pressed", "false"
        )
        await expect(viewer.locator(".tile.screen")).to_be_hidden()
        await expect(presenter.get_by_test_id("local-screen")).to_have_count(0)
        await expect(viewer.locator("#videos")).not_to_have_class("videos has-screen")
        assert shows(await sample(viewer, 0), CENTRAL_PICTURE)
    finally:
        await presenter_browser.close()
        await viewer_browser.close()
