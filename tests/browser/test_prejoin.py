"""The check before entering a room, in real Chromium: the camera's own picture, the
microphone level, a test sound, the device pickers, a real connection test to the media
server, plain advice when the camera and microphone were refused, choices remembered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Playwright, expect

from tests.support.browser import (
    CHROMIUM_FLAGS,
    CLINICIAN_PICTURE,
    SAMPLE_JS,
    close_to,
    launch,
    login,
    picture,
)
from tests.support.consult_requests import fill_patient
from tests.support.engines import CHROMIUM
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def launch_replacing(playwright: Playwright, flag: str, replacement: str) -> Browser:
    """Chromium with one of the usual flags replaced."""
    flags = [f for f in CHROMIUM_FLAGS if f != flag]
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*flags, replacement]
    )


async def accepted_room(clinician: Page, specialist: Page) -> None:
    """A request filed and accepted; the clinician opens the room page (the check)."""
    await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
    await fill_patient(clinician)
    await clinician.get_by_test_id("consult-summary").fill("Ho kéo dài")
    await clinician.get_by_test_id("consult-submit").click()
    await specialist.get_by_test_id("accept-consult").first.click(timeout=15_000)
    await clinician.get_by_test_id("join-room").first.click(timeout=15_000)
    await expect(clinician.get_by_test_id("prejoin")).to_be_visible()


async def test_the_check_shows_camera_microphone_speaker_and_connection(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    clinician_browser = await launch(playwright, picture(tmp_path, "c", CLINICIAN_PICTURE))
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await accepted_room(clinician, specialist)
        # Not in the room yet: nobody sees or hears this person, the room is hidden.
        await expect(clinician.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "checking"
        )
        await expect(clinician.get_by_test_id("hang-up")).to_be_hidden()

        # The camera's own picture, in the preview.
        preview = clinician.get_by_test_id("prejoin-preview")
        await expect(preview).to_have_js_property("readyState", 4, timeout=15_000)
        pixels = await preview.evaluate(SAMPLE_JS)
        assert close_to(pixels["left"], CLINICIAN_PICTURE[0]), pixels
        assert close_to(pixels["right"], CLINICIAN_PICTURE[1]), pixels
        # The microphone meter moves (Chromium's fake microphone beeps).
        meter = clinician.get_by_test_id("prejoin-mic-level")
        # (Waited for: the first samples are near-silence before the beep, ~1e-9.)
        await clinician.wait_for_function(
            "el => Number(el.dataset.peak) > 0.01", arg=await meter.element_handle(), timeout=10_000
        )
        # The pickers list the devices by name.
        camera = clinician.get_by_test_id("prejoin-camera")
        assert await camera.locator("option").count() >= 1
        assert (await camera.locator("option").first.text_content() or "").strip()
        # The test sound plays to its end.
        await clinician.get_by_test_id("prejoin-speaker-test").click()
        await expect(clinician.get_by_test_id("prejoin-speaker-test")).to_have_attribute(
            "data-played", "true", timeout=5_000
        )
        # A real connection test: direct UDP to the media server, with its round trip.
        connection = clinician.get_by_test_id("prejoin-connection")
        await expect(connection).to_have_attribute("data-result", "direct", timeout=20_000)
        rtt = int(await connection.get_attribute("data-rtt") or -1)
        assert 0 <= rtt < 500, rtt
        await expect(connection).to_contain_text(f"{rtt} ms")
        await expect(clinician.get_by_test_id("prejoin-advice")).to_be_hidden()

        # In: the same camera, now in the room, and the specialist sees it.
        await clinician.get_by_test_id("prejoin-continue").click()
        await expect(clinician.get_by_test_id("prejoin")).to_be_hidden()
        await specialist.get_by_test_id("join-room").first.click()
        await specialist.get_by_test_id("prejoin-continue").click(timeout=30_000)
        for page in (clinician, specialist):
            await expect(page.get_by_test_id("room-status")).to_have_attribute(
                "data-state", "connected", timeout=30_000
            )
        local = clinician.get_by_test_id("local-video")
        pixels = await local.evaluate(SAMPLE_JS)
        assert close_to(pixels["left"], CLINICIAN_PICTURE[0]), pixels
    finally:
        await clinician_browser.close()
        await specialist_browser.close()


async def test_a_refused_camera_and_microphone_are_explained_and_the_room_still_opens(
    server: RunningServer, playwright: Playwright
) -> None:
    # As a user who clicked "Block": no fake permission prompt, every prompt denied.
    denied = await launch_replacing(
        playwright, "--use-fake-ui-for-media-stream", "--deny-permission-prompts"
    )
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(denied, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await accepted_room(clinician, specialist)
        advice = clinician.get_by_test_id("prejoin-advice")
        await expect(advice).to_be_visible(timeout=15_000)
        # Chromium's own menus, in the user's language (Vietnamese by default).
        await expect(advice).to_contain_text("biểu tượng camera")
        await expect(advice).to_contain_text("Luôn cho phép")
        await expect(clinician.get_by_test_id("prejoin-retry")).to_be_visible()
        await expect(clinician.get_by_test_id("prejoin")).to_have_attribute(
            "data-missing", "audio video"
        )
        # Still allowed in (to see and hear the specialist); the controls say why not.
        await clinician.get_by_test_id("prejoin-continue").click()
        await expect(clinician.get_by_test_id("toggle-mic")).to_be_disabled()
        await expect(clinician.get_by_test_id("toggle-camera")).to_be_disabled()
        await expect(clinician.get_by_test_id("room-notice")).to_be_visible()
    finally:
        await denied.close()
        await specialist_browser.close()


async def test_the_chosen_camera_and_low_data_mode_are_remembered(
    server: RunningServer, playwright: Playwright
) -> None:
    # Two fake cameras and microphones, as on a PC with a webcam and a laptop camera.
    two = await launch_replacing(
        playwright,
        "--use-fake-device-for-media-stream",
        "--use-fake-device-for-media-stream=device-count=2",
    )
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(two, server.url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await accepted_room(clinician, specialist)
        camera = clinician.get_by_test_id("prejoin-camera")
        await expect(camera.locator("option")).to_have_count(2, timeout=15_000)
        second = await camera.locator("option").nth(1).get_attribute("value")
        assert second
        await camera.select_option(second)
        await clinician.get_by_test_id("prejoin-low-data").check()
        # The preview now comes from the chosen camera.
        track_device = "() => document.querySelector('[data-testid=prejoin-preview]')"
        track_device += ".srcObject?.getVideoTracks()[0]?.getSettings().deviceId"
        for _ in range(100):
            if await clinician.evaluate(track_device) == second:
                break
            await asyncio.sleep(0.1)
        assert await clinician.evaluate(track_device) == second

        await clinician.reload()
        await expect(camera).to_have_value(second, timeout=15_000)
        await expect(clinician.get_by_test_id("prejoin-low-data")).to_be_checked()
        await clinician.get_by_test_id("prejoin-continue").click()
        await expect(clinician.get_by_test_id("low-data")).to_have_attribute("aria-pressed", "true")
        in_room = "() => document.querySelector('[data-testid=local-video]')"
        in_room += ".srcObject?.getVideoTracks()[0]?.getSettings().deviceId"
        assert await clinician.evaluate(in_room) == second
    finally:
        await two.close()
        await specialist_browser.close()
