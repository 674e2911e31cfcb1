"""/metrics in Prometheus's text format: a real consult (two aiortc peers) shows in the
room, participant, track, frame and join figures; statements are timed; and only the
allowed networks or the bearer token may read it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.inproc import Harness, running_app
from tests.support.peers import ClientPeer
from tests.support.room_client import accepted_consult, join

TOKEN = "metrics-token-0123456789-abcdefghijklmnop"


def value(text: str, name: str, node: str = "local") -> float:
    found = re.search(rf'^{name}{{node="{node}"}} (\S+)$', text, re.MULTILINE)
    assert found, f"{name} missing:\n{text}"
    return float(found.group(1))


async def scrape(base: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base + "/metrics", headers=headers or {}) as reply,
    ):
        return reply.status, await reply.text()


async def test_a_consult_shows_in_the_metrics(harness: Harness) -> None:
    status, before = await scrape(harness.base)
    assert status == 200
    assert value(before, "consult_rooms") == 0
    frames_before = value(before, "consult_media_frames_received_total")
    forwarded_before = value(before, "consult_media_frames_forwarded_total")
    clinician = await harness.login("clinician.demo")
    specialist = await harness.login("specialist.demo")
    consult_id = await accepted_consult(clinician, specialist)
    members = [
        await join(harness.base, who, consult_id, ClientPeer(colour))
        for who, colour in ((clinician, (200, 30, 30)), (specialist, (30, 30, 200)))
    ]
    try:
        text = ""
        for _ in range(100):  # frames flowing both ways
            _, text = await scrape(harness.base)
            if value(text, "consult_media_frames_forwarded_total") >= forwarded_before + 20:
                break
            await asyncio.sleep(0.1)
        assert value(text, "consult_rooms") == 1
        assert value(text, "consult_participants") == 2
        assert value(text, "consult_tracks_published") == 4  # audio and video each
        assert value(text, "consult_tracks_forwarded") == 4
        assert value(text, "consult_media_frames_received_total") > frames_before
        assert value(text, "consult_media_forwarded_bytes_total") > 0
        assert value(text, "consult_join_seconds_count") == 2
        # Every forwarded packet's time in the media path, in buckets from 50 µs.
        assert value(text, "consult_forward_latency_seconds_count") > 20
        fast = re.search(
            r'^consult_forward_latency_seconds_bucket{le="0.001",node="local"} (\S+)$',
            text,
            re.MULTILINE,
        )
        assert fast and float(fast.group(1)) > 0, "some packets went out within 1 ms"
        assert value(text, "consult_database_statement_seconds_count") > 10
        assert 'consult_event_loop_lag_p99_seconds{node="local"}' in text
    finally:
        for member in members:
            await member.leave()
    # Nothing in it names a person, a consult or a room.
    for secret in ("clinician", "specialist", f"consult:{consult_id}", "Ho kéo dài"):
        assert secret not in text


async def test_only_the_allowed_networks_or_the_token_read_the_metrics(tmp_path: Path) -> None:
    overrides: dict[str, Any] = {
        "metrics.allowed_networks": ["10.20.0.0/16"],
        "metrics.token": TOKEN,
    }
    async with running_app(tmp_path, **overrides) as harness:
        status, body = await scrape(harness.base)
        assert status == 403 and "metrics_denied" in body
        status, body = await scrape(harness.base, {"Authorization": f"Bearer {TOKEN}x"})
        assert status == 403
        status, body = await scrape(harness.base, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "consult_rooms" in body
