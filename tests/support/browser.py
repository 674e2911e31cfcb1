"""Driving real headless Chromium (Debian's package) with Playwright and fake devices."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright, expect

from tests.support.consult_requests import fill_patient
from tests.support.engines import CHROMIUM
from tests.support.server import DEMO_PASSWORD
from tests.support.y4m import Colour, write_split_y4m

CHROMIUM_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]

# Two pictures nobody could confuse: each half a different solid colour.
CLINICIAN_PICTURE: tuple[Colour, Colour] = ((220, 30, 30), (30, 30, 220))
SPECIALIST_PICTURE: tuple[Colour, Colour] = ((30, 200, 30), (230, 220, 30))
CENTRAL_PICTURE: tuple[Colour, Colour] = ((240, 240, 240), (200, 40, 200))

SAMPLE_JS = """(video) => {
  if (!video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const px = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
  const w = canvas.width, h = canvas.height;
  return {left: px(Math.floor(w / 4), Math.floor(h / 2)),
          right: px(Math.floor(3 * w / 4), Math.floor(h / 2))};
}"""

AUDIO_PACKETS_JS = """async () => {
  const stats = await window.consultRoom.stats();
  return stats.filter(s => s.type === 'inbound-rtp' && s.kind === 'audio')
              .reduce((n, s) => n + (s.packetsReceived || 0), 0);
}"""


async def launch(
    playwright: Playwright,
    picture: Path | None = None,
    executable: Path | str = CHROMIUM,
    extra_args: tuple[str, ...] = (),
) -> Browser:
    args = [*CHROMIUM_FLAGS, *extra_args]
    if picture is not None:
        args.append(f"--use-file-for-fake-video-capture={picture}")
    return await playwright.chromium.launch(
        executable_path=str(executable), headless=True, args=args
    )


def picture(tmp_path: Path, name: str, colours: tuple[Colour, Colour]) -> Path:
    return write_split_y4m(tmp_path / f"{name}.y4m", *colours)


async def login(
    browser: Browser,
    base_url: str,
    username: str,
    init_script: str | None = None,
    **context_options: Any,
) -> Page:
    """Sign in through the form in a new context (``context_options``: a viewport, a
    phone's touch; ``init_script``: run in every page before its own scripts)."""
    context = await browser.new_context(base_url=base_url, **context_options)
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{username} console] {msg.type}: {msg.text}"))
    await page.goto("/login")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    # The role's home: "/" (supervisors go on to "/review").
    await page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))
    return page


async def remote_pictures(page: Page, pictures: list[tuple[Colour, Colour]]) -> list[int]:
    """For each remote <video> on the page, the index of the picture it shows (or -1)."""
    found = []
    for index in range(await page.get_by_test_id("remote-video").count()):
        pixels = await sample(page, index)
        found.append(next((i for i, p in enumerate(pictures) if shows(pixels, p)), -1))
    return found


async def sample(
    page: Page, index: int = 0, test_id: str = "remote-video"
) -> dict[str, list[int]] | None:
    video = page.get_by_test_id(test_id).nth(index)
    result: Any = await video.evaluate(SAMPLE_JS)
    return result if result is None else dict(result)


def close_to(actual: list[int], expected: Colour, tolerance: int = 60) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def shows(pixels: dict[str, list[int]] | None, colours: tuple[Colour, Colour]) -> bool:
    return (
        pixels is not None
        and close_to(pixels["left"], colours[0])
        and close_to(pixels["right"], colours[1])
    )


def dump(obj: object) -> str:
    return json.dumps(obj, default=str)


async def wait_for_picture(
    page: Page, colours: tuple[Colour, Colour], within: float, index: int = 0
) -> float:
    """Seconds until remote video ``index`` shows ``colours``; fails with the last sample."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < within:
        last = await sample(page, index)
        if shows(last, colours):
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"remote video never showed {colours}; last sample {last}")


async def wait_for_audio(page: Page, within: float = 15) -> int:
    packets = 0
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        packets = int(await page.evaluate(AUDIO_PACKETS_JS))
        if packets > 20:
            return packets
        await asyncio.sleep(0.2)
    raise AssertionError(f"only {packets} audio packets received")


#: The room page shows either its own check or the call.
IN_ROOM_OR_CHECK = """() => {
  const check = document.querySelector('[data-testid="prejoin"]');
  const call = document.querySelector('[data-room-body]');
  return (check && !check.hidden) || (call && !call.hidden);
}"""


async def enter_room(page: Page, within_ms: float = 15_000) -> None:
    """From a list, "join the room", then past the pre-join check (camera, microphone,
    connection) with "join the room" again; a clinician whose check passed while the
    request waited has none to pass."""
    await page.get_by_test_id("join-room").first.click(timeout=within_ms)
    await page.wait_for_url("**/room")
    await past_room_check(page)


async def past_room_check(page: Page, within_ms: float = 30_000) -> None:
    """On a room page: past its own check if it shows one (a check passed while the
    request waited spares it)."""
    await page.wait_for_function(IN_ROOM_OR_CHECK, timeout=within_ms)
    prejoin = page.get_by_test_id("prejoin-continue")
    if await prejoin.is_visible():
        await prejoin.click(timeout=within_ms)


async def file_request(clinician: Page, summary: str) -> None:
    """File an internal-medicine request for the demo patient through the form."""
    await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
    await fill_patient(clinician)
    await clinician.get_by_test_id("consult-summary").fill(summary)
    await clinician.get_by_test_id("consult-submit").click()


async def start_consult(clinician: Page, specialist: Page, summary: str) -> None:
    """File a request as the clinician, accept it as the specialist, both join the room
    and see it connected."""
    await file_request(clinician, summary)
    await specialist.get_by_test_id("accept-consult").first.click(timeout=15_000)
    await enter_room(specialist)
    await enter_room(clinician, within_ms=60_000)
    for page in (clinician, specialist):
        await expect(page.get_by_test_id("room-status")).to_have_attribute(
            "data-state", "connected", timeout=60_000
        )


async def open_panel(page: Page, part: str) -> None:
    """Bring the room's side panel to ``part`` ("chat", "files" or "note") with its
    button in the control bar, as a user does (a click on the open part would close it)."""
    button = page.get_by_test_id(f"open-{part}")
    if await button.get_attribute("aria-pressed") != "true":
        await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")


#: An init script counting the tones a page plays (each starts an oscillator): to hear
#: a bell in a test (``window.tones``).
COUNT_TONES = """window.tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.tones += 1;
  return start.apply(this, args);
};"""


# For each element: whether it is wholly inside the viewport, and whether the topmost
# element at its centre is it (or inside it).
ON_SCREEN = """(elements) => elements.map((el) => {
  const r = el.getBoundingClientRect();
  const inside = r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
    && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  const onTop = top !== null && (top === el || el.contains(top));
  return {id: el.dataset.testid, inside, onTop, box: [r.left, r.top, r.width, r.height],
          over: top ? top.outerHTML.slice(0, 80) : null};
})"""


async def hidden_or_covered(page: Page, test_ids: tuple[str, ...]) -> list[str]:
    """The elements with these hooks that are not wholly in view and on top."""
    found = []
    for test_id in test_ids:
        found += await page.locator(f'[data-testid="{test_id}"]').evaluate_all(ON_SCREEN)
    assert len(found) >= len(test_ids), "every hook is on the page"
    return [
        f"{f['id']} {f['box']} under {f['over']}"
        for f in found
        if not f["inside"] or not f["onTop"]
    ]
