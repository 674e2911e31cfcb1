"""The clinician's wait, told through the real pages on a phone (390x844): where the
request went, how many specialists are on duty there (one opens the queue: the count
follows), the time left; at the expiry a sound and "Gửi lại", which files it again with
the same patient and files; and once a specialist accepts, the way into the room is
the first thing on the screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import COUNT_TONES, launch, login
from tests.support.consult_requests import fill_patient
from tests.support.engines import CHROMIUM, require_binary
from tests.support.sample_files import png_bytes
from tests.support.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_the_wait_is_told_and_an_expired_request_is_filed_again(
    playwright: Playwright, tmp_path: Path
) -> None:
    require_binary(CHROMIUM, "Chromium")
    photo = tmp_path / "vet-thuong.png"
    photo.write_bytes(png_bytes("vết thương"))
    env = {"CONSULT_CONSULTS_EXPIRE_AFTER_SECONDS": "40"}
    with run_server(tmp_path, env) as server:
        browser = await launch(playwright)
        specialist_browser = await launch(playwright)
        try:
            clinician = await login(
                browser,
                server.url,
                "clinician.demo",
                COUNT_TONES,
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
            )
            await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
            await fill_patient(clinician, "Hà Thị Mơ", "1990")
            await clinician.get_by_test_id("patient-sex").select_option("female")
            await clinician.get_by_test_id("consult-summary").fill("Vết thương cẳng chân")
            await clinician.get_by_test_id("attach-file").set_input_files(photo)
            await clinician.get_by_test_id("consult-submit").click()

            targets = clinician.get_by_test_id("request-targets")
            await expect(targets).to_have_text(
                "Đã gửi đến: Trung tâm Y tế huyện Demo (tuyến huyện, chưa có bác sĩ nào đang trực)"
            )
            await expect(clinician.get_by_test_id("request-expires")).to_contain_text(
                "Hết hạn sau 0:"
            )
            assert await serious_violations(clinician) == []
            # The district's internist opens the queue: on duty, counted within 15 s.
            specialist = await login(specialist_browser, server.url, "specialist.demo")
            await expect(specialist.get_by_test_id("accept-consult")).to_have_count(1)
            await expect(targets).to_contain_text("1 bác sĩ đang trực", timeout=20_000)

            # Nobody accepts: it expires with a sound and the way to file it again.
            before = int(await clinician.evaluate("window.tones"))
            status = clinician.get_by_test_id("consult-status").first
            await expect(status).to_have_attribute("data-state", "expired", timeout=45_000)
            assert int(await clinician.evaluate("window.tones")) > before
            await expect(targets).to_have_count(0)
            first = await clinician.get_by_test_id("consult-item").first.get_attribute(
                "data-consult-id"
            )
            await expect(clinician.get_by_test_id("refile-request")).to_have_count(1)
            await clinician.get_by_test_id("refile-request").click()
            items = clinician.get_by_test_id("consult-item")
            await expect(items.first).not_to_have_attribute("data-consult-id", first or "")
            await expect(items.first).to_have_attribute("data-state", "requested")
            await expect(items.first).to_contain_text("Hà Thị Mơ")
            await expect(items.first).to_contain_text("Vết thương cẳng chân")

            # Accepted: the way in is the first thing on the phone's screen.
            await specialist.get_by_test_id("accept-consult").first.click()
            banner = clinician.get_by_test_id("ready-banner")
            await expect(banner).to_contain_text("BS. Lê Minh Châu đã nhận yêu cầu")
            join = banner.get_by_test_id("join-room")
            box = await join.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844, box
            assert await serious_violations(clinician) == []
            # The room's page is fetched ahead while the clinician reads the banner (it
            # needs no round trip after the click: a sixth of a second on 3G).
            room = await join.get_attribute("href")
            rules = "[...document.scripts].filter(s => s.type === 'speculationrules')"
            ahead = await clinician.evaluate(f"{rules}.map(s => JSON.parse(s.text))")
            assert [r["prefetch"][0]["urls"] for r in ahead] == [[room]]
            await asyncio.sleep(1)  # the prefetch's time, as a reader's
            # The files came along.
            await join.click()
            delivery = "performance.getEntriesByType('navigation')[0].deliveryType"
            await expect(clinician.get_by_test_id("prejoin")).to_be_visible()
            assert await clinician.evaluate(delivery) == "navigational-prefetch"
            await expect(clinician.get_by_test_id("prejoin-continue")).to_be_enabled(timeout=30_000)
            await clinician.get_by_test_id("prejoin-continue").click()
            await clinician.get_by_test_id("open-files").click()
            await expect(clinician.get_by_test_id("attachment-item")).to_have_count(1)
        finally:
            await browser.close()
            await specialist_browser.close()
