"""The room's controls stay reachable: on a 1366x620 reception-room screen and on a
390-px phone every control is inside the viewport without scrolling, and on the phone
they wrap instead of overflowing sideways."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.browser import launch, login, start_consult
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

CONTROLS = ("toggle-mic", "toggle-camera", "low-data", "hang-up")


async def controls_inside(page: Page) -> list[str]:
    """The controls not wholly inside the viewport, with their boxes."""
    size = page.viewport_size
    assert size is not None
    outside = []
    for test_id in CONTROLS:
        box = await page.get_by_test_id(test_id).bounding_box()
        if box is None or not (
            box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"]
            and box["y"] + box["height"] <= size["height"]
        ):
            outside.append(f"{test_id}: {box}")
    return outside


async def test_controls_are_reachable_on_a_small_screen_and_a_phone(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    clinician_browser = await launch(playwright)
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await start_consult(clinician, specialist, "Bố cục")
        await expect(clinician.get_by_test_id("remote-video")).to_have_count(1)
        for width, height in ((1366, 620), (390, 844)):
            await clinician.set_viewport_size({"width": width, "height": height})
            await clinician.evaluate("window.scrollTo(0, 0)")
            assert await controls_inside(clinician) == [], (width, height)
            overflow = await clinician.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{width}px: the page scrolls sideways by {overflow}px"
    finally:
        await clinician_browser.close()
        await specialist_browser.close()
