"""A three-way consult in three real browsers: commune, district and central hospital."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.browser import (
    CENTRAL_PICTURE,
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    enter_room,
    launch,
    login,
    picture,
    remote_pictures,
)
from tests.support.consult_requests import fill_patient
from tests.support.server import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PICTURES = [CLINICIAN_PICTURE, SPECIALIST_PICTURE, CENTRAL_PICTURE]


async def test_district_specialist_brings_in_the_central_hospital(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    browsers = [
        await launch(playwright, picture(tmp_path, name, colours))
        for name, colours in zip(("commune", "district", "central"), PICTURES, strict=True)
    ]
    try:
        district = await login(browsers[1], server.url, "specialist.demo")
        central = await login(browsers[2], server.url, "specialist.central")
        clinician = await login(browsers[0], server.url, "clinician.demo")
        await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
        await fill_patient(clinician)
        await clinician.get_by_test_id("consult-summary").fill("Trẻ 3 tuổi sốt cao co giật")
        await clinician.get_by_test_id("consult-submit").click()
        await district.get_by_test_id("accept-consult").first.click()
        await enter_room(district)
        await enter_room(clinician)
        await expect(district.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "connected", timeout=30_000
        )

        # The district specialist invites the central hospital from inside the room.
        await district.get_by_test_id("invite-panel").locator("summary").click()
        select = district.get_by_test_id("invite-select")
        await expect(select.locator("option")).to_have_count(1)
        assert "Trung ương" in (await select.locator("option").first.text_content() or "")
        await district.get_by_test_id("invite-submit").click()
        await expect(district.get_by_test_id("invite-result")).to_contain_text("Phạm Quốc Dũng")

        # It reaches the central specialist live; they join.
        await enter_room(central, within_ms=10_000)

        pages = {"commune": clinician, "district": district, "central": central}
        expected = {"commune": {1, 2}, "district": {0, 2}, "central": {0, 1}}
        for page in pages.values():
            await expect(page.get_by_test_id("remote-video")).to_have_count(2, timeout=15_000)
        deadline = time.monotonic() + 40
        while True:
            seen = {name: await remote_pictures(page, PICTURES) for name, page in pages.items()}
            if all(set(seen[name]) == expected[name] for name in pages):
                break
            assert time.monotonic() < deadline, f"pictures seen: {seen}"
            await asyncio.sleep(0.2)
    finally:
        for browser in browsers:
            await browser.close()
