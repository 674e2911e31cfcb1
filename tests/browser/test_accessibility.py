"""axe-core (WCAG 2.1 A and AA) on every page each role opens, with the demo's data (its
two months of consults, notes and bookings): zero serious or critical violations. The
call screen's states, the lock, the forms' errors, the wait and the Q&A are checked
where those states are made (test_room_layout, test_on_duty, test_forms, test_waiting,
test_teaching)."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import launch, login
from tests.support.server import RunningServer

# Every page of every role: a long browser flow, so the whole run's, not the quick one's.
pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def clean(page: Page, path: str, ready: str | None = None) -> list[str]:
    """Open ``path`` (and wait for a hook) and say what axe finds, with the page."""
    await page.goto(path)
    if ready:
        await expect(page.get_by_test_id(ready).first).to_be_attached()
    return [f"{path}: {found}" for found in await serious_violations(page)]


async def test_every_page_of_every_role_has_no_serious_violation(
    server: RunningServer, playwright: Playwright
) -> None:
    db = sqlite3.connect(server.data_dir / "consult.sqlite3")
    try:
        signed = db.execute(
            "SELECT consult_id FROM consult_notes WHERE signed_at IS NOT NULL LIMIT 1"
        ).fetchone()[0]
    finally:
        db.close()
    browser = await launch(playwright)
    found: list[str] = []
    try:
        anonymous = await browser.new_page()
        await anonymous.goto(server.url + "/login")
        found += await clean(anonymous, server.url + "/login", "login-username")
        found += await clean(anonymous, server.url + "/login?reason=idle", "login-reason")
        await anonymous.get_by_test_id("login-username").fill("clinician.demo")
        await anonymous.get_by_test_id("login-password").fill("not-the-password")
        await anonymous.get_by_test_id("login-submit").click()
        await expect(anonymous.get_by_test_id("login-error")).to_be_visible()
        found += [f"login error: {v}" for v in await serious_violations(anonymous)]
        found += await clean(anonymous, server.url + "/password?token=nope")

        pages = {
            "clinician.demo": [
                ("/", "new-consult"),
                ("/bookings", None),
                ("/bookings?specialty=internal-medicine", None),
                (f"/consults/{signed}", "note"),
                (f"/consults/{signed}/note/print", None),
                ("/teaching", None),
                ("/no-such-page", "error-page"),
            ],
            "specialist.demo": [
                ("/", "consult-queue"),
                ("/availability", "availability-save"),
                ("/bookings", None),
            ],
            "supervisor.demo": [("/review", None), ("/stats", "stats-chart")],
            "admin.demo": [
                ("/admin/facilities", "facility-tree"),
                ("/admin/users", "user-item"),
                ("/admin/users?edit=1#edit", None),
                ("/stats?by=facility", "stats-table"),
            ],
        }
        for username, paths in pages.items():
            page = await login(browser, server.url, username)
            for path, ready in paths:
                found += await clean(page, server.url + path, ready)
            await page.context.close()
    finally:
        await browser.close()
    assert found == []
