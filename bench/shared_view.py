"""Show to everyone, measured: from the presenter's zoom to the other viewer following.

    python -m bench.shared_view [--changes 20]

A server process and two headless Chromiums (the specialist presents a CT slice the
clinician attached; both in the room). ``--changes`` times the presenter turns the
mouse wheel over the image, 0.5 s apart; each delay runs from the wheel event in the
presenter's page to the follower's viewer showing the same zoom (both clocks are this
machine's: performance.timeOrigin + now). Also the size of one view update on the wire.
Prints JSON: every delay, the median and the 90th percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright, expect

from signaling.shared_view import View
from signaling.tokens import JoinClaims, sign_join_token
from tests.support.browser import enter_room, launch, login
from tests.support.consult_requests import fill_patient
from tests.support.sample_files import ct_dicom
from tests.support.server import SECRET, run_server

WATCH_WHEEL = """() => { window.__wheelAt = [];
  document.addEventListener('wheel', () =>
    window.__wheelAt.push(performance.timeOrigin + performance.now()), {capture: true}); }"""
WATCH_ZOOM = """() => { window.__zoomAt = [];
  const v = document.querySelector('[data-testid=image-viewer]');
  new MutationObserver(() => window.__zoomAt.push([v.dataset.zoom,
    performance.timeOrigin + performance.now()])).observe(v,
    {attributes: true, attributeFilter: ['data-zoom']}); }"""


async def main(changes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp)) as server:
        slice_path = Path(tmp) / "ct.dcm"
        slice_path.write_bytes(ct_dicom())
        async with async_playwright() as pw:
            a, b = await launch(pw), await launch(pw)
            try:
                specialist = await login(b, server.url, "specialist.demo")
                clinician = await login(a, server.url, "clinician.demo")
                await clinician.get_by_test_id("consult-specialty").select_option(
                    "internal-medicine"
                )
                await fill_patient(clinician)
                await clinician.get_by_test_id("consult-summary").fill("benchmark")
                await clinician.get_by_test_id("attach-file").set_input_files([slice_path])
                await clinician.get_by_test_id("consult-submit").click()
                await expect(clinician.get_by_test_id("attach-status")).to_contain_text(
                    "ct.dcm", timeout=20_000
                )
                await specialist.get_by_test_id("accept-consult").first.click(timeout=15_000)
                await enter_room(specialist)
                await enter_room(clinician, within_ms=60_000)
                await specialist.get_by_test_id("attachment-item").get_by_role("button").click()
                presenter = specialist.get_by_test_id("image-viewer")
                await expect(presenter).to_have_attribute("data-state", "ready", timeout=30_000)
                await specialist.get_by_test_id("show-to-all").click()
                follower = clinician.get_by_test_id("image-viewer")
                await expect(follower).to_have_attribute("data-state", "ready", timeout=30_000)
                await specialist.evaluate(WATCH_WHEEL)
                await clinician.evaluate(WATCH_ZOOM)
                await presenter.scroll_into_view_if_needed()
                box = await presenter.bounding_box()
                assert box is not None
                await specialist.mouse.move(
                    box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                )
                delays = []
                for i in range(changes):
                    before = await presenter.get_attribute("data-zoom")
                    await specialist.mouse.wheel(0, -100 if i % 2 == 0 else 100)
                    await expect(presenter).not_to_have_attribute("data-zoom", before or "")
                    zoom = await presenter.get_attribute("data-zoom")
                    await expect(follower).to_have_attribute(
                        "data-zoom", zoom or "", timeout=10_000
                    )
                    wheel_at = (await specialist.evaluate("() => window.__wheelAt"))[-1]
                    seen = await clinician.evaluate("() => window.__zoomAt")
                    followed_at = next(t for z, t in seen if z == zoom and t >= wheel_at)
                    delays.append(round(followed_at - wheel_at, 1))
                    await asyncio.sleep(0.5)
            finally:
                await a.close()
                await b.close()
    view = View.parse(
        {
            "file": 12345,
            "frame": 12,
            "zoom": 2.375,
            "pan": [0.1234, -0.0567],
            "rotation": 0,
            "window": [40.0, 400.0],
            "brightness": 1,
            "contrast": 1,
        }
    )
    token = sign_join_token(
        SECRET.encode(), JoinClaims(123, "consult:12345", "specialist", time.time() + 14400)
    )
    # What socket.io carries for one update: the event name, the view and the join token.
    message = json.dumps(["room:view", {"view": view.to_dict(), "token": token}])
    ordered = sorted(delays)
    return {
        "changes": changes,
        "delays_ms": delays,
        "median_ms": statistics.median(delays),
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))],
        "view_update_bytes": len(message),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.changes)), indent=2))
