"""A teaching session in real browsers: a specialist presents, a commune doctor watches."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import (
    CENTRAL_PICTURE,
    launch,
    login,
    open_panel,
    picture,
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

        viewer = await login(viewer_browser, server.url, "clinician2.demo")
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
    finally:
        await presenter_browser.close()
        await viewer_browser.close()
