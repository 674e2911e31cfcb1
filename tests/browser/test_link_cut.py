"""A total cut of the clinician's link, shorter than the room's grace: the consult comes
back by itself, without a reload, and meanwhile the specialist sees "reconnecting", not
a frozen picture presented as live.

The clinician's Chromium runs in a network namespace joined to the host by a veth pair;
the cut sets the host end down (both directions, media and socket alike).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.browser import (
    AUDIO_PACKETS_JS,
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    launch,
    login,
    picture,
    sample,
    shows,
    start_consult,
)
from tests.support.engines import CHROMIUM, require_binary
from tests.support.netns import namespace
from tests.support.server import run_server
from tests.support.y4m import Colour

pytestmark = [pytest.mark.browser, pytest.mark.field, pytest.mark.slow]
CUT_SECONDS = 35


async def flowing(page: Page) -> bool:
    """Audio packets are arriving now (counters grow over half a second)."""
    before = int(await page.evaluate(AUDIO_PACKETS_JS))
    await asyncio.sleep(0.5)
    return int(await page.evaluate(AUDIO_PACKETS_JS)) > before


async def back(page: Page, colours: tuple[Colour, Colour], within: float) -> float:
    """Seconds until ``page`` hears audio and shows ``colours`` again."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if await flowing(page) and shows(await sample(page), colours):
            return time.monotonic() - start
    raise AssertionError(f"media did not come back within {within} s")


async def test_a_35_second_cut_comes_back_without_a_reload(
    playwright: Playwright, tmp_path: Path
) -> None:
    require_binary(CHROMIUM, "Chromium")
    with namespace() as ns:
        env = {
            "CONSULT_SERVER_HOST": "0.0.0.0",  # noqa: S104 - loopback and the test's veth
            "CONSULT_MEDIA_HOST_ADDRESSES": f"127.0.0.1,{ns.host_ip}",
        }
        with run_server(tmp_path, env) as server:
            port = server.url.rsplit(":", 1)[1]
            clinician_url = f"http://{ns.host_ip}:{port}"
            clinician_browser = await launch(
                playwright,
                picture(tmp_path, "clinician", CLINICIAN_PICTURE),
                executable=ns.wrapper(CHROMIUM, tmp_path),
                # A camera needs a secure origin; this test's veth address is not one.
                extra_args=(f"--unsafely-treat-insecure-origin-as-secure={clinician_url}",),
            )
            specialist_browser = await launch(
                playwright, picture(tmp_path, "specialist", SPECIALIST_PICTURE)
            )
            try:
                await consult_through_a_cut(
                    await login(clinician_browser, clinician_url, "clinician.demo"),
                    await login(specialist_browser, server.url, "specialist.demo"),
                    ns.cut,
                )
            finally:
                await clinician_browser.close()
                await specialist_browser.close()
            log = server.log()
            db = sqlite3.connect(server.data_dir / "consult.sqlite3")
    assert "dropped" in log and "WARNING" in log, "the server says who dropped and why"
    kinds = [k for (k,) in db.execute("SELECT kind FROM consult_events ORDER BY id")]
    assert "room_drop" in kinds and "room_return" in kinds
    # The newest consult is this test's (the demo's history is older).
    consult_id, state = db.execute(
        "SELECT id, state FROM consults ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert state == "in_session"
    assert db.execute(
        "SELECT COUNT(*) FROM consult_participants WHERE consult_id = ?", (consult_id,)
    ).fetchone() == (2,)


async def consult_through_a_cut(
    clinician: Page, specialist: Page, cut: Callable[[bool], None]
) -> None:
    await start_consult(clinician, specialist, "Trẻ 4 tuổi, sốt")
    await back(specialist, CLINICIAN_PICTURE, within=30)
    await back(clinician, SPECIALIST_PICTURE, within=30)
    await clinician.evaluate("window.sameDocument = true")

    cut(True)
    started = time.monotonic()
    tile = specialist.locator('figure.remote[data-status="dropped"]')
    await expect(tile).to_have_count(1, timeout=20_000)
    await expect(tile).to_contain_text("…")
    print(f"specialist told of the drop after {time.monotonic() - started:.1f} s")
    await expect(clinician.get_by_test_id("room-status")).to_have_attribute(
        "data-state", "reconnecting", timeout=20_000
    )
    await asyncio.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - started)))
    cut(False)
    restored = time.monotonic()

    to_specialist = await back(specialist, CLINICIAN_PICTURE, within=60)
    to_clinician = await back(clinician, SPECIALIST_PICTURE, within=60)
    print(
        f"after a {CUT_SECONDS} s cut: clinician's media back at the specialist "
        f"{to_specialist:.1f} s after restore, specialist's at the clinician "
        f"{time.monotonic() - restored:.1f} s ({to_clinician:.1f} s more)"
    )
    assert await clinician.evaluate("window.sameDocument === true"), "no reload"
    for page in (clinician, specialist):
        await expect(page.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "connected", timeout=15_000
        )
    await expect(specialist.locator('figure.remote[data-status="present"]')).to_have_count(1)
