"""On duty is not idle: a specialist's queue left alone past the idle limit locks its
screen instead of signing out. The lock hides every patient detail (the page and the
server: the login is served nothing of a patient), keeps counting and ringing for new
requests, rings an emergency again until someone sees it, outlives the server's idle
limit, and opens only with the owner's password; then the request is there to accept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import COUNT_TONES, launch, login
from tests.support.consult_requests import request_body
from tests.support.engines import CHROMIUM, require_binary
from tests.support.inproc import login_client
from tests.support.server import DEMO_PASSWORD, run_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def tones(page: Page) -> int:
    return int(await page.evaluate("window.tones"))


async def test_the_queue_locks_rings_through_the_lock_and_opens_with_the_password(
    playwright: Playwright, tmp_path: Path
) -> None:
    require_binary(CHROMIUM, "Chromium")
    # 15 s idle: past it the page locks; the login itself would have ended by then.
    with run_server(tmp_path, {"CONSULT_SECURITY_IDLE_MINUTES": "0.25"}) as server:
        browser = await launch(playwright)
        clinician = await login_client(server.url, "clinician.demo")
        try:
            specialist = await login(
                browser,
                server.url,
                "specialist.demo",
                COUNT_TONES,
                viewport={"width": 1366, "height": 620},
            )
            queue = specialist.get_by_test_id("consult-queue")
            # The queue listens before the first request comes, so it arrives as news.
            await expect(specialist.locator("html")).to_have_attribute("data-live", "up")
            status, _ = await clinician.api("POST", "/api/consults", request_body("Sốt cao"))
            assert status == 201
            await expect(queue.get_by_test_id("accept-consult")).to_have_count(1)
            await expect(specialist).to_have_title("(1) " + "Hội chẩn từ xa")

            # Left alone: the screen locks, the patient is gone from it and from the
            # server's answers, and the counts stay.
            lock = specialist.get_by_test_id("lock-screen")
            await expect(lock).to_be_visible(timeout=25_000)
            await expect(queue).to_be_hidden()
            assert "Nguyễn Thị Hoa" not in await specialist.evaluate("document.body.innerText")
            assert (await specialist.request.get(server.url + "/api/consults")).status == 423
            await expect(specialist.get_by_test_id("lock-counts")).to_have_text(
                "1 yêu cầu đang chờ"
            )
            assert await specialist.get_by_test_id("unlock-password").evaluate(
                "el => el === document.activeElement"
            )
            assert await serious_violations(specialist) == []

            # An emergency through the lock: counted, titled, rung, and rung again.
            before = await tones(specialist)
            emergency = request_body("Khó thở cấp", urgency="emergency")
            await clinician.session.close()  # its own login went idle meanwhile
            clinician = await login_client(server.url, "clinician.demo")
            status, _ = await clinician.api("POST", "/api/consults", emergency)
            assert status == 201
            await expect(specialist.get_by_test_id("lock-counts")).to_have_text(
                "2 yêu cầu đang chờ · 1 cấp cứu"
            )
            await expect(specialist).to_have_title("(2) " + "Hội chẩn từ xa")
            assert await tones(specialist) > before
            rung = await tones(specialist)
            await specialist.wait_for_timeout(11_000)
            assert await tones(specialist) > rung, "an unseen emergency rings again"

            # Well past the server's 15 s idle limit: still signed in, still locked.
            assert specialist.url.rstrip("/") == server.url
            session = await specialist.request.get(server.url + "/api/session")
            assert session.status == 200 and (await session.json())["locked"] is True

            # Only the owner's password opens it.
            await specialist.get_by_test_id("unlock-password").fill("not-my-password")
            await specialist.get_by_test_id("unlock-submit").click()
            await expect(specialist.get_by_test_id("unlock-error")).to_have_text(
                "Mật khẩu không đúng."
            )
            await expect(lock).to_be_visible()
            await specialist.get_by_test_id("unlock-password").fill(DEMO_PASSWORD)
            await specialist.get_by_test_id("unlock-submit").click()
            await expect(lock).to_be_hidden()
            await expect(queue.get_by_test_id("accept-consult")).to_have_count(2)
            await expect(queue).to_contain_text("Khó thở cấp")
            await queue.get_by_test_id("accept-consult").first.click()
            await expect(queue.get_by_test_id("join-room")).to_have_count(1)
            assert await serious_violations(specialist) == []
        finally:
            await clinician.session.close()
            await browser.close()
