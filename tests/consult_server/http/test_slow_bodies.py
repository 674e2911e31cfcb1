"""Slow request bodies are cut (issue 11: 100 POSTs trickling their bodies held 100
connections for as long as their senders liked, 104 s and counting)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

import pytest

from consult_server.http import slow_bodies
from tests.consult_server.attachments.test_views import (
    _files_dir,
    _nothing_left,
    filed,
    raw_upload,
)
from tests.support import sample_files as files
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, Harness


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same rules on a test's clock: 1 s idle, 2 s grace, then 1 KiB/s."""
    monkeypatch.setattr(slow_bodies, "IDLE", 1.0)
    monkeypatch.setattr(slow_bodies, "GRACE", 2.0)
    monkeypatch.setattr(slow_bodies, "TICK", 0.1)


async def _post(
    harness: Harness,
    client: Client,
    path: str,
    body: bytes,
    pace: float,
    step: int,
    stop_after: int | None = None,
) -> tuple[int, bytes, float]:
    """POST ``body`` ``step`` bytes every ``pace`` seconds (only ``stop_after`` steps,
    when given); status, reply, seconds."""
    host = urlsplit(harness.base)
    reader, writer = await asyncio.open_connection(host.hostname, host.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host.netloc}\r\n"
        f"Cookie: {client.cookie_header()}\r\nX-CSRF-Token: {client.csrf}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    started = time.monotonic()
    writer.write(head.encode())

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):  # the server stopped listening
            for at in list(range(0, len(body), step))[:stop_after]:
                writer.write(body[at : at + step])
                await writer.drain()
                await asyncio.sleep(pace)

    sender = asyncio.create_task(trickle())
    try:
        reply = await asyncio.wait_for(reader.read(65536), 30)  # the answer's first bytes
        took = time.monotonic() - started
    finally:
        sender.cancel()
        writer.close()
    status = int(reply.split(b" ", 2)[1])
    return status, reply, took


async def test_a_body_that_stops_coming_is_cut(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    body = json.dumps(request_body("Đau ngực")).encode()
    status, reply, took = await _post(
        harness, clinician, "/api/consults", body, pace=0, step=40, stop_after=1
    )
    assert status == 408 and b"body_too_slow" in reply
    assert took < 5


async def test_a_trickling_body_is_cut_after_the_grace(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    body = json.dumps(request_body("Đau ngực")).encode() + b" " * 4000
    status, reply, took = await _post(harness, clinician, "/api/consults", body, 0.2, 20)
    assert status == 408 and b"body_too_slow" in reply
    assert 2 <= took < 6
    _, listing = await clinician.api("GET", "/api/consults")
    assert listing["consults"] == []  # nothing filed


async def test_a_slow_but_steady_link_gets_through(harness: Harness) -> None:
    """An Edge-class link in a call: ~2 KB/s left for the request."""
    clinician = await harness.login("clinician.demo")
    body = json.dumps(request_body("Đau ngực")).encode() + b" " * 6000
    status, reply, took = await _post(harness, clinician, "/api/consults", body, 0.1, 200)
    assert status == 201, reply[-300:]
    assert took > 2  # past the grace, under the rate rule


async def test_an_upload_that_stalls_is_cut_and_leaves_nothing(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    reader, writer = await raw_upload(harness, clinician, consult_id, files.ct_dicom() * 3)
    reply = await asyncio.wait_for(reader.read(4096), 10)  # the connection stays open
    assert reply.startswith(b"HTTP/1.1 408") and b"body_too_slow" in reply
    writer.close()
    for _ in range(100):
        if not list((_files_dir(harness) / "incoming").iterdir()):
            break
        await asyncio.sleep(0.02)
    await _nothing_left(harness, consult_id, clinician)
