"""A supervisor's figures in real Chromium: the chart is drawn, and the table and the
CSV the page downloads agree with the database, month by month."""

from __future__ import annotations

import csv
import datetime
import io
import re
import sqlite3

import pytest
from playwright.async_api import Playwright, expect
from sqlalchemy.engine import URL

from consult_server.local_time import SERVICE_TIMEZONE, day_start
from consult_server.store.db import Database
from tests.support import figures
from tests.support.browser import launch, login
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def seed(server: RunningServer) -> None:
    path = server.data_dir / "consult.sqlite3"
    db = sqlite3.connect(path)
    ids = dict(db.execute("SELECT code, id FROM facilities"))
    people = dict(db.execute("SELECT username, id FROM users"))
    db.close()
    store = Database(URL.create("sqlite", database=str(path)))
    await store.open()
    try:
        made = figures.generate(
            150,
            [ids["demo-commune-1"], ids["demo-commune-2"], ids["demo-district"]],
            ["internal-medicine"],
            day_start(datetime.date(2026, 9, 1)),
            day_start(datetime.date(2026, 12, 1)) - day_start(datetime.date(2026, 9, 1)),
            first_id=5000,
        )
        await figures.insert(store, made, people["clinician.demo"], people["specialist.demo"])
    finally:
        await store.close()


def per_month(server: RunningServer) -> dict[str, tuple[int, int]]:
    """(requested, completed) by month, straight from the database."""
    db = sqlite3.connect(server.data_dir / "consult.sqlite3")
    try:
        found: dict[str, tuple[int, int]] = {}
        for created, state in db.execute("SELECT created_at, state FROM consults"):
            month = datetime.datetime.fromtimestamp(created, SERVICE_TIMEZONE).strftime("%Y-%m")
            requested, completed = found.get(month, (0, 0))
            found[month] = (requested + 1, completed + (state == "ended"))
        return found
    finally:
        db.close()


async def test_a_supervisors_chart_table_and_csv_agree_with_the_database(
    server: RunningServer, playwright: Playwright
) -> None:
    await seed(server)
    truth = per_month(server)
    browser = await launch(playwright)
    try:
        page = await login(browser, server.url, "supervisor.demo")
        await page.get_by_test_id("nav-stats").click()
        await page.get_by_test_id("stats-from").fill("2026-09")
        await page.get_by_test_id("stats-to").fill("2026-11")
        await page.get_by_test_id("stats-apply").click()
        await expect(page).to_have_url(re.compile(r"from=2026-09"))
        charts = page.get_by_test_id("stats-chart")
        await expect(charts).to_have_count(2)
        # Two bars (requested, completed) for each of three months.
        assert await charts.first.locator("rect.bar").count() == 6
        table = page.get_by_test_id("stats-table")
        for month in ("2026-09", "2026-10", "2026-11"):
            cells = table.locator(f"tr:has(th:text-is('{month}')) td")
            assert await cells.nth(0).inner_text() == str(truth[month][0])
            assert await cells.nth(2).inner_text() == str(truth[month][1])
        async with page.expect_download() as download_info:
            await page.get_by_test_id("stats-csv").click()
        download = await download_info.value
        text = (await download.path()).read_text(encoding="utf-8-sig")
        rows = {line[0]: line for line in csv.reader(io.StringIO(text))}
        for month in ("2026-09", "2026-10", "2026-11"):
            assert (int(rows[month][1]), int(rows[month][3])) == truth[month]
        assert int(rows["total"][1]) == sum(truth[m][0] for m in ("2026-09", "2026-10", "2026-11"))
    finally:
        await browser.close()
