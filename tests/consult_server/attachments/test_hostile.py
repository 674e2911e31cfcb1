"""Files built to hurt, sent to a real server process (tests/support/hostile_files.py):
each answered within the bounds below with a clear code, never a 500; a refused file
leaves nothing behind; a kept one keeps none of what it carried (scripts, locations,
makers) and is served as its sniffed kind, sandboxed, a PDF only as a download. Then a
burst of 1,000 small files at once.

The bounds, per file: an answer within ``SECONDS``, and the server's peak memory at
most ``MIB`` above its resting size over the whole corpus.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.consult_server.attachments.test_views import fetch, send
from tests.support.consult_requests import request_body
from tests.support.hostile_files import corpus
from tests.support.inproc import Client, login_client
from tests.support.server import RunningServer, run_server

SECONDS = 5.0
MIB = 200
BURST = 1000


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def stored_files(server: RunningServer) -> set[Path]:
    return {p for p in (server.data_dir / "files" / "sha256").rglob("*") if p.is_file()}


def tiny_png(n: int) -> bytes:
    image = Image.new("L", (8, 8))
    image.putdata([(n >> (i % 10)) & 0xFF for i in range(64)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def new_consult(client: Client) -> int:
    status, body = await client.api("POST", "/api/consults", request_body("Tệp độc hại"))
    assert status == 201, body
    return int(body["consult"]["id"])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(tmp_path) as running:
        yield running


@pytest.mark.slow  # the corpus, its bombs and a thousand uploads through a real server
async def test_hostile_files_are_refused_or_defused_within_bounds(server: RunningServer) -> None:
    clinician = await login_client(server.url, "clinician.demo")
    try:
        consult_id = await new_consult(clinician)
        # Warm: the first upload of each kind loads its libraries.
        assert (await send(clinician, consult_id, tiny_png(0), "warm.png"))[0] == 201
        rest = memory_kib(server.process.pid, "VmRSS")
        answers: list[tuple[str, int, str, float]] = []
        for hostile in corpus():
            before = stored_files(server)
            started = time.monotonic()
            status, body = await send(clinician, consult_id, hostile.data, hostile.name)
            took = time.monotonic() - started
            code = body.get("error", {}).get("code", "") if status >= 400 else ""
            answers.append((hostile.name, status, code, round(took, 2)))
            assert status < 500, (hostile.name, status, body)
            assert took <= SECONDS, (hostile.name, took)
            if hostile.expect == "refuse":
                assert 400 <= status < 500 and code, (hostile.name, status, body)
                assert stored_files(server) == before, f"{hostile.name} left a file"
                continue
            assert status in (200, 201), (hostile.name, status, body)
            file = body["file"]
            status, content, headers = await fetch(clinician, file["url"])
            assert status == 200
            for leak in hostile.leaks:
                assert leak not in content, (hostile.name, leak)
            assert headers["Content-Type"] == file["media_type"]
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Content-Security-Policy"].startswith("sandbox")
            if file["kind"] == "pdf":
                assert headers["Content-Disposition"].startswith("attachment")
        peak = memory_kib(server.process.pid, "VmHWM")
        print("\nhostile corpus:", *answers, sep="\n  ")
        print(f"resting {rest // 1024} MiB, peak {peak // 1024} MiB")
        assert (peak - rest) // 1024 <= MIB, f"peak {peak // 1024} MiB, resting {rest // 1024}"
        assert not any((server.data_dir / "files" / "incoming").iterdir()), "no upload half-kept"

        # A thousand small files at once: every one answered, none lost or doubled.
        burst = await new_consult(clinician)
        limit = asyncio.Semaphore(32)

        async def one(n: int) -> tuple[int, Any]:
            async with limit:
                return await send(clinician, burst, tiny_png(n + 1), f"anh-{n}.png")

        started = time.monotonic()
        replies = await asyncio.gather(*(one(n) for n in range(BURST)))
        took = time.monotonic() - started
        print(f"{BURST} files in {took:.1f} s")
        assert sorted({status for status, _ in replies}) == [201]
        status, listing = await clinician.api("GET", f"/api/consults/{burst}/files")
        assert status == 200 and len(listing["files"]) == BURST
        assert not any((server.data_dir / "files" / "incoming").iterdir())
        assert (await clinician.api("GET", "/healthz"))[0] == 200
    finally:
        await clinician.session.close()
