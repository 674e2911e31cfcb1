"""A real 1:1 consult in two headless Chromium processes, measured.

    python -m bench.browser_consult [--runs 5] [--seconds 20] [--json PATH]

Per run: a fresh server process; accept -> both browsers show the other's picture
(seconds), then the server process's CPU (% of one core) and RSS over a steady window
while the call runs. Prints JSON with every run and the medians.
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

from playwright.async_api import async_playwright

from bench.output import emit
from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    enter_room,
    launch,
    login,
    picture,
    wait_for_picture,
)
from tests.support.proc import rss_mib
from tests.support.server import RunningServer, run_server


async def cpu_percent(server: RunningServer, seconds: float) -> float:
    before, start = server.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (server.cpu_seconds() - before) / (time.monotonic() - start)


async def one_run(tmp: Path, seconds: float) -> dict[str, Any]:
    with run_server(tmp) as server:
        async with async_playwright() as pw:
            a = await launch(pw, picture(tmp, "a", CLINICIAN_PICTURE))
            b = await launch(pw, picture(tmp, "b", SPECIALIST_PICTURE))
            try:
                idle = await cpu_percent(server, 3)
                specialist = await login(b, server.url, "specialist.demo")
                clinician = await login(a, server.url, "clinician.demo")
                await clinician.get_by_test_id("consult-specialty").select_option(
                    "internal-medicine"
                )
                await clinician.get_by_test_id("consult-summary").fill("benchmark")
                await clinician.get_by_test_id("consult-submit").click()
                accept = specialist.get_by_test_id("accept-consult").first
                await accept.wait_for()
                await accept.click()
                accepted = time.monotonic()
                await enter_room(specialist)
                await enter_room(clinician)
                await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
                await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
                first_frames = time.monotonic() - accepted
                await asyncio.sleep(2)
                busy = await cpu_percent(server, seconds)
                return {
                    "accept_to_both_remote_frames_s": round(first_frames, 3),
                    "server_cpu_pct_idle": round(idle, 1),
                    "server_cpu_pct_1to1": round(busy, 1),
                    "server_rss_mib": round(rss_mib(server.process.pid), 1),
                }
            finally:
                await a.close()
                await b.close()


async def main_async(runs: int, seconds: float) -> dict[str, Any]:
    results = []
    for index in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(await one_run(Path(tmp), seconds))
        print(json.dumps({"run": index + 1, **results[-1]}), flush=True)
    keys = results[0].keys()
    return {
        "benchmark": "browser_consult",
        "runs": results,
        "median": {k: statistics.median(r[k] for r in results) for k in keys},
        "media_path": "encoded-frame forwarding (media/forwarding.py)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(main_async(args.runs, args.seconds))
    emit(report, args.json)


if __name__ == "__main__":
    main()
