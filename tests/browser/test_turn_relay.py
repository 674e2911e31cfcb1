"""Firewalled facilities: both browsers may only use TURN (relay-only), through a real
coturn that checks the server's short-lived REST credentials; media flows both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    launch,
    login,
    picture,
    start_consult,
    wait_for_audio,
    wait_for_picture,
)
from tests.support.coturn import coturn
from tests.support.engines import CHROMIUM, require_binary
from tests.support.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.field, pytest.mark.slow]

SELECTED_PAIR_JS = """async () => {
  const stats = await window.consultRoom.stats();
  const byId = new Map(stats.map(s => [s.id, s]));
  const transport = stats.find(s => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = transport && byId.get(transport.selectedCandidatePairId);
  return pair ? byId.get(pair.localCandidateId)?.candidateType ?? null : null;
}"""


async def relay_in_use(page: Page) -> str | None:
    result = await page.evaluate(SELECTED_PAIR_JS)
    return None if result is None else str(result)


async def test_relay_only_consult_through_coturn(playwright: Playwright, tmp_path: Path) -> None:
    require_binary(CHROMIUM, "Chromium")
    with coturn(tmp_path) as turn:
        env = {
            "CONSULT_MEDIA_TURN_URLS": turn.url,
            "CONSULT_MEDIA_TURN_SECRET": turn.secret,
            "CONSULT_MEDIA_ICE_TRANSPORT_POLICY": "relay",
        }
        with run_server(tmp_path, env) as server:
            clinician_browser = await launch(
                playwright, picture(tmp_path, "clinician", CLINICIAN_PICTURE)
            )
            specialist_browser = await launch(
                playwright, picture(tmp_path, "specialist", SPECIALIST_PICTURE)
            )
            try:
                clinician = await login(clinician_browser, server.url, "clinician.demo")
                specialist = await login(specialist_browser, server.url, "specialist.demo")
                await start_consult(clinician, specialist, "Đau bụng, nôn")
                await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
                await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
                assert await wait_for_audio(clinician) > 20
                assert await wait_for_audio(specialist) > 20
                assert await relay_in_use(clinician) == "relay"
                assert await relay_in_use(specialist) == "relay"
                # The pre-join connection test saw the same: media works, through TURN.
                for page in (clinician, specialist):
                    await expect(page.get_by_test_id("prejoin-connection")).to_have_attribute(
                        "data-result", "relay", timeout=20_000
                    )
            finally:
                await clinician_browser.close()
                await specialist_browser.close()
            server_log = server.log()
        turn_log = turn.log()
    # coturn accepted the server's credentials (no 401 loop) and relayed for both.
    assert turn_log.count("ALLOCATE processed, success") >= 2, turn_log[-3000:]
    assert turn.secret not in server_log
