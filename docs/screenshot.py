"""Take the README's screenshots from a real consult (run from the repository root).

    .venv/bin/python docs/screenshot.py

Starts a server with the demo data, two headless Chromium processes with Chromium's
built-in fake camera, and saves docs/img/*.png: the queue, the clinician's page, the
call (recorded, with consent) as the specialist sees it at 1366x768, 1366x620 and
390x844, then the supervisor's recordings list and the session's review page.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from tests.support.browser import enter_room, launch, login  # noqa: E402
from tests.support.consult_requests import fill_patient  # noqa: E402
from tests.support.server import run_server  # noqa: E402

OUT = ROOT / "docs" / "img"


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp)) as server:
        async with async_playwright() as pw:
            a, b = await launch(pw), await launch(pw)
            specialist = await login(b, server.url, "specialist.demo")
            clinician = await login(a, server.url, "clinician.demo")
            for page in (specialist, clinician):
                await page.set_viewport_size({"width": 1280, "height": 800})
            await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
            await clinician.get_by_test_id("consult-urgency").select_option("urgent")
            await fill_patient(clinician, "Trần Văn Hùng", "1972")
            await clinician.get_by_test_id("patient-sex").select_option("male")
            await clinician.get_by_test_id("consult-summary").fill(
                "Nam 54 tuổi, đau ngực trái 2 giờ, HA 150/90, mạch 98. Xin ý kiến đọc điện tim."
            )
            await clinician.get_by_test_id("consult-consent").check()
            await clinician.get_by_test_id("consult-submit").click()
            await specialist.get_by_test_id("accept-consult").first.wait_for()
            await asyncio.sleep(3)
            await specialist.screenshot(path=OUT / "queue.png")
            await specialist.get_by_test_id("accept-consult").first.click()
            await clinician.get_by_test_id("join-room").first.wait_for()
            await clinician.screenshot(path=OUT / "clinician.png")
            await enter_room(specialist)
            await enter_room(clinician)
            status = specialist.get_by_test_id("room-status")
            await status.and_(specialist.locator('[data-state="connected"]')).wait_for()
            await asyncio.sleep(4)
            for width, height in ((1366, 768), (1366, 620), (390, 844)):
                await specialist.set_viewport_size({"width": width, "height": height})
                await asyncio.sleep(1)
                await specialist.screenshot(path=OUT / f"call-{width}x{height}.png")
            await asyncio.sleep(2)
            await clinician.get_by_test_id("toggle-mic").click()
            await asyncio.sleep(2)
            await specialist.get_by_test_id("hang-up").click()
            await clinician.get_by_test_id("hang-up").click()
            await asyncio.sleep(2)
            supervisor = await login(a, server.url, "supervisor.demo")
            await supervisor.set_viewport_size({"width": 1280, "height": 800})
            await supervisor.get_by_test_id("recording-item").first.wait_for()
            await supervisor.screenshot(path=OUT / "recordings.png")
            await supervisor.get_by_test_id("recording-open").first.click()
            await supervisor.get_by_test_id("play-all").click()
            await asyncio.sleep(3)
            await supervisor.get_by_test_id("play-all").click()
            await supervisor.screenshot(path=OUT / "review.png", full_page=True)
            await a.close()
            await b.close()


if __name__ == "__main__":
    asyncio.run(main())
