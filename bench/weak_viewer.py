"""One weak viewer among good ones (issue 24 part 4).

    sudo python -m bench.weak_viewer [--seconds 20] [--runs 1] [--json PATH]

A lesson: the presenter in Chromium on loopback (its own moving fake camera), three
viewers on good links (aiortc peers in this process that count encoded frames and
bytes without decoding; each sends a REMB of 5 Mbit/s every 0.25 s, as a browser on a
LAN does: aiortc's own receive-side estimator, run in a Python process taking in three
1.5 Mbit/s streams, saw its own scheduling delays as congestion and reported ~300
kbit/s) and, in the second half, a fourth
viewer in Chromium behind the field benchmark's Edge link (240 kbit/s each way,
200 ms; tests/support/linkemu.py).

Each run measures the good viewers' frame rate and bitrate over a window before the
weak viewer comes and over one after it has settled, and what the weak viewer gets
(audio concealed, frame rate, video kbit/s). It runs with ``media.simulcast`` on (the
presenter sends three layers) and off (one stream, capped by the weakest viewer: the
behaviour before), side by side.

Target: the good viewers keep >= 80 % of their frame rate and bitrate; the weak viewer
keeps audio and gets what its link carries.
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

import socketio
from playwright.async_api import Page, Playwright, async_playwright, expect

from bench.output import emit
from media import aiortc_hook
from tests.support.browser import login
from tests.support.encoded import CapturingPeer
from tests.support.field import PROFILES, STATS_JS, Series, field_link
from tests.support.inproc import Client, login_client
from tests.support.room_client import answer_for, join_room, room_page, room_socket

GOOD_VIEWERS = ("clinician.demo", "clinician2.demo", "specialist.demo")
WEAK_VIEWER = "supervisor.demo"
PRESENTER = "specialist.central"

LAYERS_JS = """async () => {
  const stats = await window.consultRoom.stats();
  return stats.filter(s => s.type === 'outbound-rtp' && s.kind === 'video')
              .map(s => ({rid: s.rid || null, width: s.frameWidth || 0,
                          kbps: Math.round((s.targetBitrate || 0) / 1000),
                          limited: s.qualityLimitationReason}));
}"""

VIDEO_BYTES_JS = """async () => {
  const stats = await window.consultRoom.stats();
  return stats.filter(s => s.type === 'inbound-rtp' && s.kind === 'video')
              .reduce((n, s) => n + (s.bytesReceived || 0), 0);
}"""


def window(peer: CapturingPeer, start: float, end: float) -> dict[str, Any]:
    frames = [(at, data) for at, data in peer.captures[0].frames if start <= at <= end]
    seconds = end - start
    widths = [
        int.from_bytes(d[6:8], "little") & 0x3FFF
        for _, d in frames
        if len(d) > 10 and not d[0] & 0x01 and d[3:6] == b"\x9d\x01\x2a"
    ]
    return {
        "fps": round(len(frames) / seconds, 1),
        "kbps": round(sum(len(d) for _, d in frames) * 8 / seconds / 1000, 1),
        "key_frame_widths": sorted(set(widths)),
    }


async def good_viewers(
    base: str, session: int, clients: list[Client]
) -> tuple[list[CapturingPeer], list[socketio.AsyncClient]]:
    """The good viewers in the lesson; their signed-in clients go into ``clients``."""
    peers, sockets = [], []
    for name in GOOD_VIEWERS:
        client = await login_client(base, name)
        clients.append(client)
        _, token = await room_page(client, f"/teaching/{session}/room")
        sio = await room_socket(base, client, token)
        await join_room(sio, token)
        peer = CapturingPeer(1)
        await peer.accept(await answer_for(sio, token, await peer.offer()))
        peers.append(peer)
        sockets.append(sio)
    return peers, sockets


GOOD_LINK = 5_000_000


async def good_estimates(peers: list[CapturingPeer]) -> None:
    """Each good viewer's REMB: a LAN's, every 0.25 s."""
    receivers = [
        t.receiver for peer in peers for t in peer.pc.getTransceivers() if t.kind == "video"
    ]
    while True:
        for receiver in receivers:
            aiortc_hook.send_remb(receiver, GOOD_LINK)
        await asyncio.sleep(0.25)


async def sample(page: Page, series: Series, until: float) -> list[tuple[float, int]]:
    video: list[tuple[float, int]] = []
    while time.monotonic() < until:
        try:
            series.add(time.monotonic(), await page.evaluate(STATS_JS))
            video.append((time.monotonic(), int(await page.evaluate(VIDEO_BYTES_JS))))
        except Exception:  # noqa: S112 - a page mid-rebuild: the next sample will do
            continue
        await asyncio.sleep(0.25)
    return video


async def run(playwright: Playwright, tmp: Path, simulcast: bool, seconds: float) -> dict[str, Any]:
    env = {"CONSULT_MEDIA_SIMULCAST": "true" if simulcast else "false"}
    async with field_link(playwright, tmp, env) as side:
        server, ns = side.server, side.ns
        host = await login_client(server.url, PRESENTER)
        status, body = await host.api("POST", "/api/teaching", {"title": "Bench"})
        assert status == 201, body
        session = int(body["id"])
        presenter = await login(side.specialist, server.url, PRESENTER)
        await presenter.goto(f"{server.url}/teaching/{session}/room")
        await presenter.get_by_test_id("prejoin-continue").click(timeout=30_000)
        await expect(presenter.get_by_test_id("local-video")).to_be_visible()
        clients = [host]
        peers, sockets = await good_viewers(server.url, session, clients)
        estimates = asyncio.create_task(good_estimates(peers))
        try:
            # Settle (the good viewers climb to the best layer), then the first window.
            await asyncio.sleep(20)
            alone_start = time.monotonic()
            await asyncio.sleep(seconds)
            alone_end = time.monotonic()
            layers_alone = await presenter.evaluate(LAYERS_JS)
            ns.shape(PROFILES["edge"]["up"], PROFILES["edge"]["down"])
            weak = await login(side.clinician, side.clinician_url, WEAK_VIEWER)
            await weak.goto(f"{side.clinician_url}/teaching/{session}/room")
            await expect(weak.get_by_test_id("remote-video")).to_have_count(1, timeout=60_000)
            series = Series()
            await sample(weak, series, time.monotonic() + 15)  # it settles
            with_start = time.monotonic()
            video = await sample(weak, series, with_start + seconds)
            with_end = time.monotonic()
            layers_with = await presenter.evaluate(LAYERS_JS)
            alone = [window(p, alone_start, alone_end) for p in peers]
            together = [window(p, with_start, with_end) for p in peers]
            weak_summary = series.summary(with_start, with_end, None)
            spent = [v for v in video if v[0] >= with_start]
            kbps = (
                (spent[-1][1] - spent[0][1]) * 8 / (spent[-1][0] - spent[0][0]) / 1000
                if len(spent) > 1
                else 0.0
            )
            link = ns.stats()
        finally:
            estimates.cancel()
            for sio in sockets:
                await sio.disconnect()
            for peer in peers:
                await peer.close()
            for client in clients:
                await client.session.close()

    def kept(key: str) -> float:
        ratios = [t[key] / a[key] for a, t in zip(alone, together, strict=True) if a[key]]
        return round(min(ratios), 2) if ratios else 0.0

    return {
        "simulcast": simulcast,
        "seconds": seconds,
        "good_alone": alone,
        "good_with_weak": together,
        "good_kept_fps_min": kept("fps"),
        "good_kept_kbps_min": kept("kbps"),
        "good_kbps_median_alone": statistics.median(a["kbps"] for a in alone),
        "good_kbps_median_with_weak": statistics.median(t["kbps"] for t in together),
        "weak": {**weak_summary, "video_kbps": round(kbps, 1)},
        "presenter_layers_alone": layers_alone,
        "presenter_layers_with_weak": layers_with,
        "link": link,
    }


async def main_async(seconds: float, runs: int) -> list[dict[str, Any]]:
    rows = []
    async with async_playwright() as playwright:
        for run_index in range(runs):
            for simulcast in (True, False):
                with tempfile.TemporaryDirectory() as tmp:
                    row = await run(playwright, Path(tmp), simulcast, seconds)
                row["run"] = run_index
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = asyncio.run(main_async(args.seconds, args.runs))
    report = {"benchmark": "weak_viewer", "rows": rows}
    emit(report, args.json)


if __name__ == "__main__":
    main()
