"""A shared reception PC: a page left alone warns, then signs out by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import launch, login
from tests.support.engines import CHROMIUM, require_binary
from tests.support.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_an_idle_page_warns_then_signs_out(playwright: Playwright, tmp_path: Path) -> None:
    require_binary(CHROMIUM, "Chromium")
    # 15 seconds idle (the limit takes fractions of a minute): the warning shows for
    # the last half of it.
    with run_server(tmp_path, {"CONSULT_SECURITY_IDLE_MINUTES": "0.25"}) as server:
        browser = await launch(playwright)
        try:
            page = await login(browser, server.url, "clinician.demo")
            warning = page.get_by_test_id("idle-warning")
            await expect(warning).to_be_visible(timeout=15_000)
            await expect(page.get_by_test_id("idle-warning-text")).to_contain_text("giây")
            await page.get_by_test_id("idle-stay").click()
            await expect(warning).to_be_hidden()
            # Left alone again: back to the sign-in page, and the patient list is gone.
            await page.wait_for_url("**/login?next=*", timeout=40_000)
            await expect(page.get_by_test_id("login-username")).to_be_visible()
            # The sign-in page says why.
            reason = page.get_by_test_id("login-reason")
            await expect(reason).to_have_attribute("data-reason", "idle")
            await expect(reason).to_contain_text("không được dùng")
            assert await serious_violations(page) == []
            await page.goto(server.url + "/")
            assert page.url.startswith(server.url + "/login")
        finally:
            await browser.close()
