"""The call screen fits a laptop with a taskbar and a phone, and tells the others' state
as it is.

At 1366x768, 1366x620 and 390x844, without scrolling, each remote picture, each
participant's name and state, and mute, camera, low-data, chat and leave are inside the
viewport and on top (``elementFromPoint`` at their centre finds them, not something
over them). Then the specialist's browser dies (a dropped link: the seat is kept, with
its time), comes back, hangs up (left), and the room ends: each state is in the tile and
in the live region, in view at the phone's size, and the end takes the clinician's
page off every live-link claim with the ways on. Reopening the ended room says so
before touching the camera.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import (
    enter_room,
    file_request,
    hidden_or_covered,
    launch,
    login,
    start_consult,
)
from tests.support.engines import CHROMIUM, require_binary
from tests.support.server import RunningServer, run_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ((1366, 768), (1366, 620), (390, 844))
CONTROLS = ("toggle-mic", "toggle-camera", "low-data", "open-chat", "hang-up")
#: Long enough to see a dropped seat kept, and a browser come back into it.
GRACE_SECONDS = 25

COUNT_CAMERA_ASKS = """window.cameraAsked = 0;
const devices = navigator.mediaDevices;
const ask = devices.getUserMedia.bind(devices);
devices.getUserMedia = (c) => { window.cameraAsked += 1; return ask(c); };"""


@pytest.fixture
def slow_grace_server(tmp_path: Path) -> Iterator[RunningServer]:
    require_binary(CHROMIUM, "Chromium")
    env = {"CONSULT_CONSULTS_ROOM_GRACE_SECONDS": str(GRACE_SECONDS)}
    with run_server(tmp_path, env) as running:
        yield running


async def call_in_view(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    await page.set_viewport_size({"width": width, "height": height})
    await page.wait_for_timeout(300)
    problems = await hidden_or_covered(
        page, ("remote-video", "participant-state", "room-status", *CONTROLS)
    )
    assert problems == [], (size, problems)
    scroll = await page.evaluate(
        "[document.documentElement.scrollHeight - innerHeight,"
        " document.documentElement.scrollWidth - innerWidth]"
    )
    assert scroll[0] <= 0 and scroll[1] <= 0, f"{size}: the page scrolls by {scroll}"
    assert await serious_violations(page) == [], size


def kill_browser(marker: str) -> None:
    """What a dead PC or a pulled cable does: no hang-up, no page closing."""
    subprocess.run(["pkill", "-9", "-f", marker], check=False)


async def test_the_call_fits_three_screens_and_tells_each_state(
    slow_grace_server: RunningServer, playwright: Playwright
) -> None:
    server = slow_grace_server
    clinician_browser = await launch(playwright)
    specialist_browser: Browser | None = await launch(
        playwright, extra_args=("--consult-test=specialist-one",)
    )
    assert specialist_browser is not None
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await start_consult(clinician, specialist, "Bố cục màn hình cuộc gọi")
        await expect(clinician.get_by_test_id("remote-video")).to_have_count(1)
        await expect(clinician.get_by_test_id("participant-state")).to_have_text("BS. Lê Minh Châu")
        # The title names the other side.
        assert "Lê Minh Châu" in await clinician.title()
        assert "Nguyễn Văn An" in await specialist.title()
        for size in SIZES:
            await call_in_view(clinician, size)
            await call_in_view(specialist, size)
        # Keyboard: Alt+M mutes, and the skip link leads to the controls.
        await clinician.keyboard.press("Alt+m")
        await expect(clinician.get_by_test_id("toggle-mic")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(specialist.get_by_test_id("participant-state")).to_contain_text("đã tắt micrô")
        await clinician.keyboard.press("Alt+m")
        await expect(specialist.get_by_test_id("participant-state")).not_to_contain_text("micrô")

        # A dropped link: the seat is kept, and both places say so with its time.
        await clinician.set_viewport_size({"width": 390, "height": 844})
        kill_browser("specialist-one")
        specialist_browser = None
        notice = clinician.get_by_test_id("room-notice")
        state = clinician.get_by_test_id("participant-state")
        await expect(notice).to_contain_text(
            "BS. Lê Minh Châu mất kết nối, đang chờ (0:", timeout=25_000
        )
        await expect(state).to_contain_text("giữ chỗ 0:")
        await expect(clinician.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "peer_reconnecting"
        )
        assert await hidden_or_covered(clinician, ("room-notice", "participant-state")) == []
        assert await serious_violations(clinician) == []
        # Back within the grace, in a new browser.
        specialist_browser = await launch(playwright)
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await enter_room(specialist)
        await expect(notice).to_contain_text("BS. Lê Minh Châu đã kết nối lại.", timeout=30_000)
        await expect(state).to_have_text("BS. Lê Minh Châu")
        # Hung up: "left", not "not in yet".
        await specialist.get_by_test_id("hang-up").click()
        await expect(notice).to_contain_text("BS. Lê Minh Châu đã rời phòng.")
        await expect(state).to_contain_text("đã rời phòng")
        await expect(clinician.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "peer_left"
        )
        assert await hidden_or_covered(clinician, ("room-notice", "participant-state")) == []
        # The room ends after the grace: said above everything, with the ways on, and no
        # badge still claiming a good link.
        await expect(notice).to_contain_text(
            "Buổi hội chẩn đã kết thúc", timeout=(GRACE_SECONDS + 20) * 1000
        )
        await expect(clinician.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "ended"
        )
        assert await hidden_or_covered(clinician, ("room-notice", "open-record")) == []
        assert await clinician.locator('[data-testid^="quality"]:visible').count() == 0
        await expect(clinician.get_by_test_id("toggle-mic")).to_be_disabled()
        assert await serious_violations(clinician) == []
        # Its room reopened: ended, before any camera is touched.
        await clinician.add_init_script(COUNT_CAMERA_ASKS)
        await clinician.reload()
        await expect(clinician.get_by_test_id("room-notice")).to_contain_text(
            "Buổi hội chẩn đã kết thúc"
        )
        await expect(clinician.get_by_test_id("prejoin")).to_have_count(0)
        await clinician.wait_for_timeout(1000)
        assert await clinician.evaluate("window.cameraAsked") == 0
        assert await hidden_or_covered(clinician, ("room-notice", "open-record")) == []
        assert await serious_violations(clinician) == []
    finally:
        await clinician_browser.close()
        if specialist_browser is not None:
            await specialist_browser.close()


async def test_the_way_in_is_in_view_before_the_call(
    server: RunningServer, playwright: Playwright
) -> None:
    """The pre-join check's preview, its verdict on the link and "Vào phòng" are in view
    without scrolling on both laptop sizes and the phone (it sat at y = 859 of 620)."""
    clinician_browser = await launch(playwright)
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await file_request(clinician, "Sốt cao 3 ngày, ho khan")
        await specialist.get_by_test_id("accept-consult").first.click(timeout=15_000)
        await specialist.get_by_test_id("join-room").first.click()
        await expect(specialist.get_by_test_id("prejoin-continue")).to_be_enabled(timeout=30_000)
        for width, height in SIZES:
            await specialist.set_viewport_size({"width": width, "height": height})
            await specialist.evaluate("window.scrollTo(0, 0)")
            problems = await hidden_or_covered(
                specialist, ("prejoin-preview", "prejoin-connection", "prejoin-continue")
            )
            assert problems == [], ((width, height), problems)
            assert await serious_violations(specialist) == [], (width, height)
    finally:
        await clinician_browser.close()
        await specialist_browser.close()
