"""A consult measured on an emulated link: the clinician's Chromium behind the link
emulator (tests/support/netns.py), the specialist's on loopback, the real server between.

Both pages are sampled every ``SAMPLE_S`` from ``getStats()``; a rebuilt peer connection
restarts its counters, which the deltas take into account. Per direction (``to_clinician``
is what the clinician receives, ``to_specialist`` what the specialist receives):

- ``audio_concealed_pct``: concealed / received audio samples over the window;
- ``longest_audio_gap_s``: the longest run of samples with >= 90 % of the audio
  concealed (or none arriving at all);
- ``video_fps_median``: the median of frames decoded per second;
- ``frozen_s``: seconds without a decoded frame (runs of >= 0.5 s);
- for a cut: ``audio_back_s`` / ``video_back_s`` from the restore to audio mostly not
  concealed and to frames decoded again;
- ``alive``: audio still arriving in the last 5 s of the window.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright, expect

from tests.support.browser import (
    enter_room,
    file_request,
    launch,
    login,
    past_room_check,
    start_consult,
)
from tests.support.engines import CHROMIUM
from tests.support.linkemu import Shape
from tests.support.netns import namespace
from tests.support.server import RunningServer, run_server

SAMPLE_S = 0.25

#: The links of issue 8 (delays are one way).
PROFILES: dict[str, dict[str, Any]] = {
    "good": {"up": Shape(), "down": Shape()},
    "3g": {
        "up": Shape(rate_kbps=330, delay_ms=50),
        "down": Shape(rate_kbps=780, delay_ms=50),
    },
    "edge": {
        "up": Shape(rate_kbps=240, delay_ms=200),
        "down": Shape(rate_kbps=240, delay_ms=200),
    },
    "loss10": {"up": Shape(loss=0.10), "down": Shape(loss=0.10)},
    "loss20": {"up": Shape(loss=0.20), "down": Shape(loss=0.20)},
    "cut10": {"up": Shape(), "down": Shape(), "cut": 10},
    "cut35": {"up": Shape(), "down": Shape(), "cut": 35},
    "cut90": {"up": Shape(), "down": Shape(), "cut": 90},
}

STATS_JS = """async () => {
  const stats = await window.consultRoom.stats();
  const out = {audio: 0, concealed: 0, frames: 0};
  for (const s of stats) {
    if (s.type !== 'inbound-rtp') continue;
    if (s.kind === 'audio') {
      out.audio += s.totalSamplesReceived || 0;
      out.concealed += s.concealedSamples || 0;
    } else if (s.kind === 'video') {
      out.frames += s.framesDecoded || 0;
    }
  }
  out.state = document.querySelector('[data-testid="room-status"]')?.dataset.state;
  return out;
}"""


@dataclass
class Series:
    """One direction's samples: (time, new audio samples, new concealed, new frames)."""

    points: list[tuple[float, int, int, int]] = field(default_factory=list)
    last: dict[str, int] = field(default_factory=dict)

    def add(self, at: float, raw: dict[str, Any]) -> None:
        deltas = []
        for key in ("audio", "concealed", "frames"):
            value = int(raw[key])
            before = self.last.get(key, value)
            deltas.append(value - before if value >= before else value)  # counters restart
            self.last[key] = value
        self.points.append((at, deltas[0], deltas[1], deltas[2]))

    def summary(self, start: float, end: float, restore: float | None) -> dict[str, Any]:
        window = [p for p in self.points if start <= p[0] <= end]
        audio = sum(p[1] for p in window)
        concealed = sum(p[2] for p in window)
        gap = longest = 0.0
        frozen = still = 0.0
        per_second: dict[int, int] = {}
        for at, samples, hidden, frames in window:
            silent = samples == 0 or hidden >= 0.9 * samples
            gap = gap + SAMPLE_S if silent else 0.0
            longest = max(longest, gap)
            still = still + SAMPLE_S if frames == 0 else 0.0
            if frames == 0 and still >= 0.5:
                frozen += SAMPLE_S if still > 0.5 else 0.5
            per_second[int(at)] = per_second.get(int(at), 0) + frames
        result: dict[str, Any] = {
            "audio_concealed_pct": round(100 * concealed / audio, 1) if audio else 100.0,
            "longest_audio_gap_s": round(longest, 2),
            "video_fps_median": statistics.median(per_second.values()) if per_second else 0,
            "frozen_s": round(frozen, 2),
            "alive": any(p[1] > p[2] for p in window if p[0] >= end - 5),
        }
        if restore is not None:
            after = [p for p in self.points if p[0] >= restore]
            audio_back = next((p[0] for p in after if p[1] and p[2] < 0.5 * p[1]), None)
            video_back = next((p[0] for p in after if p[3]), None)
            result["audio_back_s"] = None if audio_back is None else round(audio_back - restore, 2)
            result["video_back_s"] = None if video_back is None else round(video_back - restore, 2)
        return result


async def _sample(pages: dict[str, Page], series: dict[str, Series], until: float) -> None:
    while time.monotonic() < until:
        for name, page in pages.items():
            try:
                series[name].add(time.monotonic(), await page.evaluate(STATS_JS))
            except Exception:  # noqa: S112 - a page mid-rebuild: the next sample will do
                continue
        await asyncio.sleep(SAMPLE_S)


@dataclass
class FieldSide:
    """The emulated link's namespace, the server, and the two browsers: the clinician's
    behind the link (reaching the server at ``clinician_url``), the specialist's on
    loopback."""

    ns: Any
    server: RunningServer
    clinician_url: str
    clinician: Browser
    specialist: Browser


@asynccontextmanager
async def field_link(
    playwright: Playwright, tmp: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[FieldSide]:
    with namespace() as ns:
        env = {
            "CONSULT_SERVER_HOST": "0.0.0.0",  # noqa: S104 - loopback and the emulated link
            "CONSULT_MEDIA_HOST_ADDRESSES": f"127.0.0.1,{ns.host_ip}",
            **(extra_env or {}),
        }
        with run_server(tmp, env) as server:
            port = server.url.rsplit(":", 1)[1]
            clinician_url = f"http://{ns.host_ip}:{port}"
            # Chromium's own fake camera (a moving 640x480 pattern): it needs the bits a
            # real camera needs, where a still test picture compresses to almost nothing.
            clinician = await launch(
                playwright,
                executable=ns.wrapper(CHROMIUM, tmp),
                # A camera needs a secure origin; the emulated link's address is not one.
                extra_args=(f"--unsafely-treat-insecure-origin-as-secure={clinician_url}",),
            )
            specialist = await launch(playwright)
            try:
                yield FieldSide(ns, server, clinician_url, clinician, specialist)
            finally:
                await clinician.close()
                await specialist.close()


async def measure(
    playwright: Playwright, tmp: Path, profile: str, seconds: float
) -> dict[str, Any]:
    """One consult on ``profile`` for ``seconds`` after both see each other."""
    spec = PROFILES[profile]
    async with field_link(playwright, tmp) as link_side:
        ns, server, clinician_url = link_side.ns, link_side.server, link_side.clinician_url
        clinician_browser, specialist_browser = link_side.clinician, link_side.specialist
        clinician = await login(clinician_browser, clinician_url, "clinician.demo")
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        ns.shape(spec["up"], spec["down"])
        started = time.monotonic()
        await start_consult(clinician, specialist, "field benchmark")
        connected_after = time.monotonic() - started
        pages = {"to_clinician": clinician, "to_specialist": specialist}
        series = {name: Series() for name in pages}
        start = time.monotonic()
        end = start + seconds
        restore = None
        if "cut" in spec:
            cut_at = start + min(15.0, seconds / 3)
            await _sample(pages, series, cut_at)
            ns.cut(True)
            await _sample(pages, series, cut_at + spec["cut"])
            ns.cut(False)
            restore = time.monotonic()
            end = max(end, restore + 20)
        await _sample(pages, series, end)
        states = {
            n: await p.get_by_test_id("room-status").get_attribute("data-state")
            for n, p in pages.items()
        }
        link = ns.stats()
    result: dict[str, Any] = {
        "profile": profile,
        "seconds": seconds,
        "connected_after_s": round(connected_after, 1),
        "room_state_at_end": states,
        "link": link,
    }
    for name, samples in series.items():
        result[name] = samples.summary(start + 3, end, restore)
    return result


#: Frames decoded so far from the other side (0 before any picture).
FRAMES_JS = """async () => {
  if (!window.consultRoom) return 0;
  const stats = await window.consultRoom.stats();
  return stats.filter(s => s.type === 'inbound-rtp' && s.kind === 'video')
              .reduce((n, s) => n + (s.framesDecoded || 0), 0);
}"""


async def _first_frames(page: Page, since: float, within: float = 90) -> float:
    """Seconds from ``since`` until the page has decoded a frame from the other side."""
    while time.monotonic() - since < within:
        try:
            if await page.evaluate(FRAMES_JS) > 0:
                return time.monotonic() - since
        except Exception:  # noqa: S110 - the page is navigating into the room
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"no picture within {within} s")


ROOM_STEPS_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const out = {
    page_requested: nav.requestStart,
    page_first_byte: nav.responseStart,
    page_last_byte: nav.responseEnd,
    page_loaded: nav.domContentLoadedEventEnd,
  };
  for (const m of performance.getEntriesByType('mark')) {
    if (m.name.startsWith('room:') && !(m.name in out)) out[m.name] = m.startTime;
  }
  return {origin: performance.timeOrigin, steps: out, bytes: nav.encodedBodySize};
}"""


async def _room_steps(page: Page, since_wall: float) -> dict[str, float]:
    """When the room page reached each step (``room:*`` marks, the page's own load), in
    seconds from ``since_wall`` (a wall-clock time): where the seconds to a picture go."""
    found = await page.evaluate(ROOM_STEPS_JS)
    origin = found["origin"] / 1000 - since_wall
    steps = {name: round(origin + at / 1000, 3) for name, at in found["steps"].items()}
    return steps | {"page_bytes": found["bytes"]}


async def measure_accept(
    playwright: Playwright, tmp: Path, profile: str, checked: bool, acts_after: float = 3.0
) -> dict[str, Any]:
    """From the specialist's accept to both pictures, the clinician on ``profile``.

    The request waits while its check runs. ``checked``: the clinician then said "take me
    straight in", so the accept takes them into the call by itself; otherwise they click
    "Vào phòng" ``acts_after`` seconds after the accept (the room then skips its own
    check, passed while waiting). The specialist, on loopback,
    acts at once (join, then their own check)."""
    spec = PROFILES[profile]
    async with field_link(playwright, tmp) as link_side:
        ns, server, clinician_url = link_side.ns, link_side.server, link_side.clinician_url
        clinician_browser, specialist_browser = link_side.clinician, link_side.specialist
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        ns.shape(spec["up"], spec["down"])
        # The clinician's day on this link: signed in, then a request filed.
        clinician = await login(clinician_browser, clinician_url, "clinician.demo")
        await file_request(clinician, "field accept benchmark")
        check = clinician.get_by_test_id("wait-check")
        await expect(check).to_be_visible(timeout=60_000)
        # A request waits longer than its check takes (seconds, on Edge too).
        connection = check.get_by_test_id("prejoin-connection")
        await expect(connection).not_to_have_attribute("data-result", "checking", timeout=60_000)
        if checked:
            await check.get_by_test_id("prejoin-continue").click()
            await expect(check.get_by_test_id("wait-check-done")).to_be_visible()
        accepted = time.monotonic()
        await specialist.get_by_test_id("accept-consult").first.click(timeout=60_000)
        await enter_room(specialist)
        if not checked:
            banner = clinician.get_by_test_id("ready-banner")
            await banner.get_by_test_id("join-room").wait_for(timeout=60_000)
            await asyncio.sleep(max(0.0, accepted + acts_after - time.monotonic()))
            await banner.get_by_test_id("join-room").click()
            await past_room_check(clinician, within_ms=60_000)
        specialist_sees, clinician_sees = await asyncio.gather(
            _first_frames(specialist, accepted), _first_frames(clinician, accepted)
        )
        link = ns.stats()
        steps = await _room_steps(clinician, time.time() - (time.monotonic() - accepted))
    return {
        "profile": profile,
        "mode": "checked_while_waiting" if checked else f"acts_{acts_after:g}s_after",
        "accept_to_specialist_sees_s": round(specialist_sees, 2),
        "accept_to_clinician_sees_s": round(clinician_sees, 2),
        "accept_to_both_s": round(max(specialist_sees, clinician_sees), 2),
        "link": link,
        "clinician_steps_s": steps,
    }
