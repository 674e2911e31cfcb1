"""From a specialist's accept to both pictures, with the clinician on our users' links
(issue 21's table).

    sudo python -m bench.accept [--profiles good,3g,edge] [--runs 3]
                                [--modes checked,late] [--json PATH]

Needs root (a network namespace and TUN devices for the link emulator), Chromium and
iproute2. Each run: a fresh server; the clinician's Chromium behind the emulated link
signs in and files a request; the specialist's, on loopback, accepts and joins at once.
``checked``: the clinician passed the check while waiting (the accept takes them in by
itself); ``late``: they click "Vào phòng" 3 s after the accept and pass the check then.
Prints JSON: every run, then per profile and mode the median and the runs, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from tests.support.field import measure_accept

PROFILES = ("good", "3g", "edge")
MODES = ("checked", "late")


async def main(profiles: list[str], modes: list[str], runs: int) -> dict[str, Any]:
    report: dict[str, Any] = {"runs": [], "medians": {}, "failed": []}
    async with async_playwright() as pw:
        for profile in profiles:
            for mode in modes:
                both = []
                for _ in range(runs):
                    with tempfile.TemporaryDirectory() as tmp:
                        try:
                            result = await measure_accept(
                                pw, Path(tmp), profile, checked=mode == "checked"
                            )
                        except Exception as exc:  # a run that never got going: say so
                            failed = {"profile": profile, "mode": mode, "error": repr(exc)[:300]}
                            report["failed"].append(failed)
                            print(json.dumps(failed), flush=True)
                            continue
                    print(json.dumps(result), flush=True)
                    report["runs"].append(result)
                    both.append(result["accept_to_both_s"])
                if both:
                    report["medians"][f"{profile}/{mode}"] = {
                        "accept_to_both_s": statistics.median(both),
                        "runs": both,
                    }
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(main(args.profiles.split(","), args.modes.split(","), args.runs))
    print(json.dumps(report["medians"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
