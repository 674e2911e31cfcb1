"""Audio first on a link too weak for video: the clinician's page pauses its video and
says so, the specialist is told ("video paused") and keeps hearing the clinician, and
both sides show the connection as poor. Low-data mode is remembered on the PC."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Playwright, expect

from tests.support.browser import (
    launch,
    login,
    start_consult,
)
from tests.support.engines import CHROMIUM, require_binary
from tests.support.field import STATS_JS
from tests.support.linkemu import Shape
from tests.support.netns import namespace
from tests.support.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.field, pytest.mark.slow]


async def test_a_link_too_weak_for_video_keeps_the_sound(
    playwright: Playwright, tmp_path: Path
) -> None:
    require_binary(CHROMIUM, "Chromium")
    with namespace() as ns:
        env = {
            "CONSULT_SERVER_HOST": "0.0.0.0",  # noqa: S104 - loopback and the emulated link
            "CONSULT_MEDIA_HOST_ADDRESSES": f"127.0.0.1,{ns.host_ip}",
        }
        with run_server(tmp_path, env) as server:
            port = server.url.rsplit(":", 1)[1]
            clinician_url = f"http://{ns.host_ip}:{port}"
            # Chromium's own moving fake camera: it wants far more than this link has.
            clinician_browser = await launch(
                playwright,
                executable=ns.wrapper(CHROMIUM, tmp_path),
                extra_args=(f"--unsafely-treat-insecure-origin-as-secure={clinician_url}",),
            )
            specialist_browser = await launch(playwright)
            try:
                clinician = await login(clinician_browser, clinician_url, "clinician.demo")
                specialist = await login(specialist_browser, server.url, "specialist.demo")
                await start_consult(clinician, specialist, "Sốt, ho")
                ns.shape(Shape(rate_kbps=70, delay_ms=150), Shape(rate_kbps=400, delay_ms=150))

                await expect(clinician.get_by_test_id("video-retry")).to_be_visible(timeout=60_000)
                await expect(clinician.get_by_test_id("room-notice")).to_contain_text(
                    "tạm dừng hình"
                )
                await expect(clinician.get_by_test_id("quality-self")).to_have_attribute(
                    "data-level", "poor", timeout=20_000
                )
                tile = specialist.locator("figure.remote")
                await expect(tile.locator("figcaption")).to_contain_text(
                    "tạm dừng hình", timeout=30_000
                )
                await expect(tile.get_by_test_id("quality")).to_have_attribute("data-level", "poor")
                # Still heard: over 5 s, most of what the specialist's browser plays
                # out is the clinician's real audio, not concealment. 70 kbit/s is at
                # the limit of Opus with FEC and its headers: CI measured 30.5 %
                # concealed once (f1fb891), local runs less (a packet count
                # alone depends on Opus's frame size and on the queue's drops).
                before = await specialist.evaluate(STATS_JS)
                await asyncio.sleep(5)
                after = await specialist.evaluate(STATS_JS)
                played = after["audio"] - before["audio"]
                concealed = after["concealed"] - before["concealed"]
                assert played > 0 and concealed <= 0.5 * played, (
                    f"the specialist still hears the clinician: {concealed} of {played} "
                    "samples concealed"
                )

                # Low-data mode: chosen once, still chosen after a reload.
                await clinician.get_by_test_id("low-data").click()
                await expect(clinician.get_by_test_id("low-data")).to_have_attribute(
                    "aria-pressed", "true"
                )
                await clinician.reload()
                await expect(clinician.get_by_test_id("low-data")).to_have_attribute(
                    "aria-pressed", "true"
                )
            finally:
                await clinician_browser.close()
                await specialist_browser.close()
