"""An admin sets up facilities in real Chromium: a CSV with a bad line is refused whole
with its reason shown (in Vietnamese, naming the line), then the fixed file is imported
and the tree shows the new facilities under their parents."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.browser import launch, login
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

CSV = (
    "code,name,level,parent_code,specialties\n"
    "ttyt-son-la,TTYT huyện Mường La,district,demo-provincial,internal-medicine\n"
    "tyt-ngoc-chien,Trạm Y tế xã Ngọc Chiến,commune,ttyt-son-la,\n"
    "tyt-muong-trai,Trạm Y tế xã Mường Trai,xa,ttyt-son-la,\n"
)


def codes(server: RunningServer) -> set[str]:
    db = sqlite3.connect(server.data_dir / "consult.sqlite3")
    try:
        return {code for (code,) in db.execute("SELECT code FROM facilities")}
    finally:
        db.close()


async def test_an_admin_imports_facilities_checked_first(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    browser = await launch(playwright)
    try:
        page = await login(browser, server.url, "admin.demo")
        await page.get_by_test_id("nav-facilities").click()
        tree = page.get_by_test_id("facility-tree")
        await expect(tree.get_by_test_id("facility-item")).to_have_count(5)
        before = codes(server)

        bad = tmp_path / "co-so.csv"
        bad.write_text(CSV)
        await page.get_by_test_id("facility-import-file").set_input_files(bad)
        await page.get_by_test_id("facility-import-check").click()
        errors = page.get_by_test_id("facility-import-errors")
        await expect(errors).to_contain_text("Dòng 4")
        await expect(errors).to_contain_text("tyt-muong-trai")
        await expect(errors).to_contain_text("Tuyến phải là")
        await expect(page.get_by_test_id("facility-import-commit")).to_have_count(0)
        assert codes(server) == before, "a file with a bad line changes nothing"

        fixed = tmp_path / "co-so-sua.csv"
        fixed.write_text(CSV.replace(",xa,", ",commune,"))
        await page.get_by_test_id("facility-import-file").set_input_files(fixed)
        await page.get_by_test_id("facility-import-check").click()
        await expect(page.get_by_test_id("facility-import-summary")).to_contain_text("3")
        await page.get_by_test_id("facility-import-commit").click()
        await expect(page.get_by_test_id("facility-done")).to_contain_text("3 cơ sở mới")
        await expect(tree.get_by_test_id("facility-item")).to_have_count(8)
        new = tree.locator('[data-code="tyt-ngoc-chien"]')
        await expect(new).to_have_attribute("aria-level", "4")
        assert codes(server) - before == {"ttyt-son-la", "tyt-ngoc-chien", "tyt-muong-trai"}
    finally:
        await browser.close()
