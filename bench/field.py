"""A consult on the links our users have, measured (issue 8's field benchmark).

    sudo python -m bench.field [--profiles good,3g,edge,loss10,loss20,cut10,cut35,cut90]
                               [--runs 3] [--seconds 60] [--json PATH]

Needs root (a network namespace and TUN devices for the link emulator), Chromium and
iproute2. Each run: a fresh server, the clinician's Chromium behind the emulated link,
the specialist's on loopback; see tests/support/field.py for what is measured. Prints
JSON: every run, and per profile the median of each figure.
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

from tests.support.field import PROFILES, measure


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("to_clinician", "to_specialist"):
        keys = runs[0][side].keys()
        out[side] = {}
        for key in keys:
            values = [r[side][key] for r in runs if r[side][key] is not None]
            if values and all(isinstance(v, bool) for v in values):
                out[side][key] = f"{sum(values)}/{len(runs)}"
            elif values:
                out[side][key] = statistics.median(values)
            else:
                out[side][key] = None
    return out


async def main(profiles: list[str], runs: int, seconds: float) -> dict[str, Any]:
    report: dict[str, Any] = {"runs": [], "medians": {}, "failed": []}
    async with async_playwright() as pw:
        for profile in profiles:
            done = []
            for _ in range(runs):
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        result = await measure(pw, Path(tmp), profile, seconds)
                    except Exception as exc:  # a run that never got going: say so, go on
                        report["failed"].append({"profile": profile, "error": repr(exc)[:300]})
                        print(json.dumps(report["failed"][-1]), flush=True)
                        continue
                print(json.dumps(result), flush=True)
                done.append(result)
            report["runs"] += done
            if done:
                report["medians"][profile] = medians(done)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(main(args.profiles.split(","), args.runs, args.seconds))
    print(json.dumps(report["medians"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
