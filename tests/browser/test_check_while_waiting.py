"""The check runs while the clinician waits: after filing, the clinician's page runs the
call's own check (camera, microphone, a real connection test to the media server);
when it passed, an accept takes the clinician straight into the call, with no second
check and no click, and both pictures flow. The time from the accept to both pictures
is printed (loopback; the field figures are bench/field.py's)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    enter_room,
    file_request,
    launch,
    login,
    picture,
    wait_for_picture,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def test_an_accept_takes_a_checked_clinician_straight_into_the_call(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    clinician_browser = await launch(playwright, picture(tmp_path, "c", CLINICIAN_PICTURE))
    specialist_browser = await launch(playwright, picture(tmp_path, "s", SPECIALIST_PICTURE))
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await file_request(clinician, "Đau đầu, chóng mặt")

        check = clinician.get_by_test_id("wait-check")
        await expect(check).to_be_visible()
        connection = check.get_by_test_id("prejoin-connection")
        await expect(connection).to_have_attribute("data-result", "direct", timeout=30_000)
        await expect(check.get_by_test_id("prejoin-continue")).to_contain_text("vào thẳng")
        await check.get_by_test_id("prejoin-continue").click()
        await expect(check.get_by_test_id("wait-check-done")).to_be_visible()

        accepted = time.monotonic()
        await specialist.get_by_test_id("accept-consult").first.click()
        await enter_room(specialist)
        # No click on the clinician's side: into the room, past no second check.
        await clinician.wait_for_url("**/consults/*/room", timeout=15_000)
        await expect(clinician.get_by_test_id("prejoin")).to_be_hidden()
        await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
        await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
        print(f"accept -> both pictures: {time.monotonic() - accepted:.2f} s (loopback)")
        # The check was used: a later call checks again.
        assert await clinician.evaluate("sessionStorage.getItem('consult.checked')") is None
    finally:
        await clinician_browser.close()
        await specialist_browser.close()
