"""A page whose scripts cannot load says so, and its form can never submit natively
(a native GET once put the patient's case summary into the URL and the access log)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import urllib.request

import pytest
from playwright.async_api import Playwright, Route, expect

from tests.support.browser import launch, login
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def test_missing_scripts_are_announced_and_nothing_is_sent(
    server: RunningServer, playwright: Playwright
) -> None:
    began = time.time()
    browser = await launch(playwright)
    try:
        page = await login(browser, server.url, "clinician.demo")
        await expect(page.get_by_test_id("consult-submit")).to_be_enabled()
        await expect(page.get_by_test_id("scripts-failed")).to_be_hidden()
        assert await page.locator("html").get_attribute("data-scripts") == "ready"

        async def refuse(route: Route) -> None:
            await route.fulfill(status=404, body="not found")

        # As when the package left the socket.io client out.
        await page.route("**/vendor/socket.io/**", refuse)
        await page.reload()
        await expect(page.get_by_test_id("scripts-failed")).to_be_visible(timeout=5_000)
        submit = page.get_by_test_id("consult-submit")
        await expect(submit).to_be_disabled()
        await page.get_by_test_id("patient-name").fill("Hoàng Thị Mai")
        await page.get_by_test_id("consult-summary").fill("Nữ 30 tuổi, khó thở")
        await page.get_by_test_id("consult-summary").press("Enter")  # a newline, no submit
        await page.locator("#new-consult").evaluate("form => form.requestSubmit()")
        await page.wait_for_timeout(500)
        assert "?" not in page.url and "kh" not in page.url and "Mai" not in page.url
    finally:
        await browser.close()
    # The access log holds paths only: no query string, no Referer.
    status = await asyncio.to_thread(_get, server.url + "/healthz?note=b%E1%BB%87nh-nh%C3%A2n")
    assert status == 200
    log = server.log()
    assert "khó thở" not in log and "note=" not in log and "b%E1" not in log
    assert '"GET /healthz" 200' in log
    db = sqlite3.connect(server.data_dir / "consult.sqlite3")
    filed = db.execute("SELECT COUNT(*) FROM consults WHERE created_at >= ?", (began,))
    assert filed.fetchone() == (0,), "nothing was filed (the demo's history is older)"


def _get(url: str) -> int:
    with urllib.request.urlopen(url) as reply:  # noqa: S310
        return int(reply.status)
