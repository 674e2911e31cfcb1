"""Uploading images to a real server process: throughput and the server's memory.

    python -m bench.attachments [--series-mib 200] [--slice-kib 512] [--big-mib 50]
                                [--concurrency 1,4]

A server is started with its demo accounts; the clinician files a request and sends:

- a CT series of ``--series-mib`` MiB, one DICOM file per slice (``--slice-kib`` each,
  multi-frame images made with pydicom), ``--concurrency`` uploads at a time;
- one ``--big-mib`` MiB DICOM file (the per-file limit by default).

For each, the wall time, MiB/s, and the server's resident memory: before, its peak
(VmHWM, reset before each run through /proc/PID/clear_refs) and after. Streaming shows
as a peak that does not grow with what was sent. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.support.consult_requests import request_body
from tests.support.inproc import login_client
from tests.support.sample_files import multiframe_dicom
from tests.support.server import run_server

MIB = 1024 * 1024


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _slice(kib: int, index: int) -> bytes:
    """A DICOM file of about ``kib`` KiB (64 × 64 16-bit frames)."""
    frames = max(1, kib * 1024 // (64 * 64 * 2))
    data = multiframe_dicom(frames=frames, size=64)
    # Distinct content per slice (else the store keeps one copy): vary the last byte.
    return data[:-1] + bytes([index % 251])


async def _send(
    session: aiohttp.ClientSession, base: str, csrf: str, cid: int, data: bytes
) -> None:
    async with session.post(
        f"{base}/api/consults/{cid}/files",
        data=io.BytesIO(data),
        headers={
            "X-CSRF-Token": csrf,
            "Content-Type": "application/octet-stream",
            "X-File-Name": quote("slice.dcm"),
        },
    ) as response:
        if response.status not in (200, 201):
            raise RuntimeError(f"upload refused: {response.status} {await response.text()}")


async def _run(
    pid: int,
    base: str,
    csrf: str,
    session: aiohttp.ClientSession,
    cid: int,
    files: list[bytes],
    concurrency: int,
) -> dict[str, Any]:
    before = _status(pid)["VmRSS"]
    _reset_peak(pid)
    queue = list(files)
    start = time.perf_counter()

    async def worker() -> None:
        while queue:
            await _send(session, base, csrf, cid, queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    after = _status(pid)
    sent = sum(len(f) for f in files)
    return {
        "files": len(files),
        "mib": round(sent / MIB, 1),
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "mib_per_s": round(sent / MIB / seconds, 1),
        "rss_before_mib": round(before / MIB, 1),
        "rss_peak_mib": round(after["VmHWM"] / MIB, 1),
        "rss_peak_growth_mib": round((after["VmHWM"] - before) / MIB, 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    per_slice = args.slice_kib
    count = args.series_mib * 1024 // per_slice
    series = [_slice(per_slice, i) for i in range(count)]
    big = multiframe_dicom(frames=args.big_mib * MIB // (256 * 256 * 2) - 1, size=256)
    results: dict[str, Any] = {"series": [], "big_file": None}
    with tempfile.TemporaryDirectory() as tmp:
        extra = {"CONSULT_ATTACHMENTS_MAX_CONSULT_MIB": str(10 * args.series_mib)}
        with run_server(Path(tmp), extra) as server:
            pid = server.process.pid
            client = await login_client(server.url, "clinician.demo")
            try:
                for concurrency in args.concurrency:
                    status, body = await client.api("POST", "/api/consults", request_body())
                    assert status == 201, body
                    cid = int(body["consult"]["id"])
                    series = [s[:-1] + bytes([(s[-1] + 1) % 251]) for s in series]
                    results["series"].append(
                        await _run(
                            pid, server.url, client.csrf, client.session, cid, series, concurrency
                        )
                    )
                status, body = await client.api("POST", "/api/consults", request_body())
                cid = int(body["consult"]["id"])
                results["big_file"] = await _run(
                    pid, server.url, client.csrf, client.session, cid, [big], 1
                )
            finally:
                await client.session.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series-mib", type=int, default=200)
    parser.add_argument("--slice-kib", type=int, default=512)
    parser.add_argument("--big-mib", type=int, default=50)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4]
    )
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
