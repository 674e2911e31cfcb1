"""The image viewer (web/static/js/image_viewer.js, on the vendored dwv) in real headless
Chromium: DICOM frames and series, window/level, a ruler in mm, a follower that shows
what the presenter shows, photos, clips and PDFs, and touch on a tablet.

A throwaway aiohttp app serves web/static and the sample files to a page under our real
Content-Security-Policy (so the vendored modules and dwv's workers must load as they will
in the room), at a path outside /static/ (dwv must find its workers all the same).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, Page, Playwright, expect
from pydicom.uid import RLELossless, generate_uid

from consult_server.http.security import CSP
from tests.support import sample_files
from tests.support.browser import launch
from tests.support.engines import CHROMIUM, require_binary

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
SPACING = 0.661468  # CT_small.dcm's pixel spacing, mm
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>viewer</title>
<link rel="icon" href="data:,"></head>
<body><script type="application/json" id="i18n">{"viewer.frame": "{n} / {total}"}</script>
<div id="a"></div><div id="b"></div><div id="c"></div><div id="d"></div></body></html>"""

# Open a viewer in one of the page's boxes, placed and sized; keep what it reports.
OPEN_JS = """async ([id, files, box]) => {
  const { openViewer } = await import('/static/js/image_viewer.js');
  const el = document.getElementById(id);
  Object.assign(el.style, {position: 'absolute', left: box[0] + 'px', top: box[1] + 'px',
                           width: box[2] + 'px', height: box[3] + 'px'});
  window.viewers ??= {}; window.changes ??= {}; window.pointers ??= {};
  const viewer = await openViewer(el, files);
  window.viewers[id] = viewer;
  window.changes[id] = [];
  viewer.onChange((s) => window.changes[id].push(s));
  viewer.onPointer((p) => { window.pointers[id] = p; });
  return el.querySelector('[data-testid="image-viewer"]').dataset.state;
}"""
# RGBA of the dwv canvas at the centre of a box (read from a copy: reading dwv's own
# canvas again and again makes Chromium warn on the console).
DICOM_PIXEL_JS = """(id) => {
  const canvas = document.querySelector('#' + id + ' .viewLayer canvas');
  const copy = document.createElement('canvas');
  [copy.width, copy.height] = [canvas.width, canvas.height];
  const ctx = copy.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(canvas, 0, 0);
  return Array.from(ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data);
}"""

Serve = Callable[[dict[str, tuple[bytes, str]]], Awaitable[str]]


def info(
    file_id: int, name: str, kind: str = "dicom", instance: int | None = None
) -> dict[str, Any]:
    """A FileInfo as the page gets it from the server."""
    return {
        "id": file_id,
        "kind": kind,
        "url": f"/files/{name}",
        "name": name,
        "frames": None,
        "width": None,
        "height": None,
        "pixel_spacing": None,
        "series_uid": None,
        "instance_number": instance,
    }


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start the page and these files (name -> body, content type); gives the base URL."""
    runners: list[web.AppRunner] = []

    async def start(files: dict[str, tuple[bytes, str]]) -> str:
        async def page(request: web.Request) -> web.Response:
            return web.Response(
                text=PAGE, content_type="text/html", headers={"Content-Security-Policy": CSP}
            )

        async def file(request: web.Request) -> web.Response:
            body, content_type = files[request.match_info["name"]]
            return web.Response(body=body, content_type=content_type)

        app = web.Application()
        app.router.add_get("/consults/1/view", page)
        app.router.add_get("/files/{name}", file)
        app.router.add_static("/static/", STATIC, append_version=True)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    require_binary(CHROMIUM, "Chromium")
    browser = await launch(playwright)
    yield browser
    await browser.close()


async def open_page(browser: Browser, base: str, **context: Any) -> tuple[Page, list[str]]:
    """The test page, and every console message or page error it produces."""
    ctx = await browser.new_context(**{"viewport": {"width": 1366, "height": 768}, **context})
    page = await ctx.new_page()
    noise: list[str] = []
    page.on("console", lambda msg: noise.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: noise.append(f"pageerror: {error}"))
    await page.goto(base + "/consults/1/view")
    return page, noise


async def open_viewer(
    page: Page, box_id: str, files: list[dict[str, Any]], box: tuple[int, int, int, int]
) -> None:
    state = await page.evaluate(OPEN_JS, [box_id, files, list(box)])
    assert state == "ready", await page.locator(f"#{box_id}").inner_text()


async def call(page: Page, box_id: str, method: str, *args: Any) -> Any:
    """viewer.method(...args) in the page."""
    return await page.evaluate(
        "([id, method, args]) => window.viewers[id][method](...args)", [box_id, method, list(args)]
    )


async def attrs(page: Page, box_id: str) -> dict[str, str | None]:
    viewer = page.locator(f"#{box_id} [data-testid=image-viewer]")
    return {k: await viewer.get_attribute(f"data-{k}") for k in ("frame", "zoom", "window")}


async def changes(page: Page, box_id: str) -> list[Any]:
    result: list[Any] = await page.evaluate("(id) => window.changes[id]", box_id)
    return result


async def stage_centre(page: Page, box_id: str) -> tuple[float, float]:
    box = await page.locator(f"#{box_id} .viewer-stage").bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def drag(page: Page, start: tuple[float, float], by: tuple[float, float]) -> None:
    await page.mouse.move(*start)
    await page.mouse.down()
    await page.mouse.move(start[0] + by[0], start[1] + by[1], steps=8)
    await page.mouse.up()


def rle_ct() -> tuple[bytes, int]:
    """The CT slice RLE-compressed (decoded by a dwv worker), and its centre's value."""
    ds = sample_files.ct_slice()
    centre = int(ds.pixel_array[64, 64]) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    ds.compress(RLELossless)
    return sample_files.dicom_bytes(ds), centre


async def test_frames_scroll_and_a_follower_shows_the_same_view(
    serve: Serve, browser: Browser
) -> None:
    rle, rle_centre = rle_ct()
    base = await serve(
        {
            "multi": (sample_files.multiframe_dicom(5, 64), "application/dicom"),
            "rle": (rle, "application/dicom"),
        }
    )
    page, noise = await open_page(browser, base)
    await open_viewer(page, "a", [info(1, "multi")], (0, 0, 640, 480))
    await open_viewer(page, "b", [info(1, "multi")], (700, 0, 400, 300))
    assert await call(page, "a", "frames") == 5
    zero = await call(page, "a", "valueAt", [0.5, 0.5])

    await call(page, "a", "setFrame", 3)
    # Frame i holds 100 * i (stored; dwv answers in rescaled units, the same offset).
    assert await call(page, "a", "valueAt", [0.5, 0.5]) - zero == 300
    assert (await attrs(page, "a"))["frame"] == "3"
    await page.get_by_test_id("viewer-next-frame").first.click()
    assert (await attrs(page, "a"))["frame"] == "4"
    assert await call(page, "a", "valueAt", [0.5, 0.5]) - zero == 400
    await expect(page.get_by_test_id("viewer-frame-label").first).to_have_text("5 / 5")

    # The wheel zooms about the pointer; the user's changes are reported.
    await page.mouse.move(*await stage_centre(page, "a"))
    await page.mouse.wheel(0, -300)
    viewer = page.locator("#a [data-testid=image-viewer]")
    await expect(viewer).not_to_have_attribute("data-zoom", "1")
    leader = await attrs(page, "a")
    assert float(leader["zoom"] or 0) > 1.2
    reported = await changes(page, "a")
    assert reported and reported[-1]["frame"] == 4

    # A follower of another size applies the view: same frame, zoom, window, no echo.
    await call(page, "b", "apply", reported[-1])
    assert await attrs(page, "b") == leader
    assert await call(page, "b", "valueAt", [0.5, 0.5]) - zero == 400
    assert await changes(page, "b") == []
    follower = await call(page, "b", "state")
    assert follower["pan"] == pytest.approx(reported[-1]["pan"], abs=0.002)

    # Every toolbar control is on screen at 1366 × 768.
    for button in await page.locator("#a [data-testid^=viewer-]:visible").all():
        box = await button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1366 and box["y"] >= 0

    # An RLE file is decoded by dwv's worker, found under /static/ from this page.
    await open_viewer(page, "c", [info(9, "rle")], (0, 500, 300, 260))
    assert await call(page, "c", "valueAt", [64.5 / 128, 64.5 / 128]) == rle_centre
    assert noise == []


async def test_a_series_scrolls_across_its_files_in_instance_order(
    serve: Serve, browser: Browser
) -> None:
    uid = generate_uid()
    base = await serve(
        {f"ct{i}": (sample_files.ct_dicom(i, uid), "application/dicom") for i in (1, 2, 3)}
    )
    page, noise = await open_page(browser, base)
    # Given out of order: the viewer orders them by instance number.
    series = [info(13, "ct3", instance=3), info(11, "ct1", instance=1), info(12, "ct2", instance=2)]
    await open_viewer(page, "a", series, (0, 0, 640, 480))
    assert await call(page, "a", "frames") == 3
    seen = []
    for frame in range(3):
        await call(page, "a", "setFrame", frame)
        state = await call(page, "a", "state")
        # Each slice's top rows hold 100 × its instance number (rescaled: -1024).
        seen.append((state["file"], await call(page, "a", "valueAt", [0.5, 2 / 128])))
    assert seen == [(11, 100 - 1024), (12, 200 - 1024), (13, 300 - 1024)]

    # Keys scroll too, as the user: reported.
    await page.locator("#a [data-testid=image-viewer]").focus()
    await page.keyboard.press("ArrowLeft")
    assert (await attrs(page, "a"))["frame"] == "1"
    assert (await changes(page, "a"))[-1]["file"] == 12

    await call(page, "a", "close")
    assert await page.locator("#a").inner_html() == ""
    assert await page.locator("#a").get_attribute("data-frame") is None
    assert noise == []


async def test_window_level_by_drag_changes_pixels_and_a_follower_matches(
    serve: Serve, browser: Browser
) -> None:
    base = await serve({"ct": (sample_files.ct_dicom(1), "application/dicom")})
    page, noise = await open_page(browser, base)
    await open_viewer(page, "a", [info(1, "ct")], (0, 0, 640, 480))
    await open_viewer(page, "b", [info(1, "ct")], (700, 0, 400, 300))
    before = await attrs(page, "a")
    pixel = await page.evaluate(DICOM_PIXEL_JS, "a")

    await page.get_by_test_id("viewer-tool-window").first.click()
    await drag(page, await stage_centre(page, "a"), (80, -60))
    after = await attrs(page, "a")
    assert after["window"] != before["window"]
    assert await page.evaluate(DICOM_PIXEL_JS, "a") != pixel
    state = (await changes(page, "a"))[-1]
    assert ",".join(str(round(x, 2)) for x in state["window"]) == after["window"]

    await call(page, "b", "apply", state)
    assert (await attrs(page, "b"))["window"] == after["window"]
    # Same window, same grey at the same point of the image.
    assert await page.evaluate(DICOM_PIXEL_JS, "b") == await page.evaluate(DICOM_PIXEL_JS, "a")
    assert noise == []


async def test_the_ruler_measures_in_millimetres(serve: Serve, browser: Browser) -> None:
    base = await serve({"ct": (sample_files.ct_dicom(1), "application/dicom")})
    page, noise = await open_page(browser, base)
    await open_viewer(page, "a", [info(1, "ct")], (0, 0, 640, 480))
    x, y = await stage_centre(page, "a")
    start, end = (x - 150, y - 40), (x + 100, y + 60)
    # Where those points are on the image, as the viewer reports the pointer.
    fractions = []
    for point in (start, end):
        await page.mouse.move(*point)
        fractions.append(await page.evaluate("() => window.pointers.a"))
    pixels = ((fractions[1][0] - fractions[0][0]) * 128, (fractions[1][1] - fractions[0][1]) * 128)
    expected = (pixels[0] ** 2 + pixels[1] ** 2) ** 0.5 * SPACING

    await page.get_by_test_id("viewer-tool-ruler").first.click()
    await drag(page, start, (end[0] - start[0], end[1] - start[1]))
    measure = page.get_by_test_id("viewer-measure").first
    await expect(measure).not_to_have_attribute("data-mm", "")
    assert float(await measure.get_attribute("data-mm") or 0) == pytest.approx(expected, rel=0.01)
    assert expected > 30  # not a trivial length: some 75 image pixels

    # The ruler's layer has the input while measuring; the window tool works again after.
    window = (await attrs(page, "a"))["window"]
    await page.get_by_test_id("viewer-tool-window").first.click()
    await drag(page, (x, y + 100), (-80, 60))
    assert (await attrs(page, "a"))["window"] != window
    assert noise == []


async def test_a_photo_rotates_and_brightens_and_other_kinds_open(
    serve: Serve, browser: Browser
) -> None:
    base = await serve(
        {
            "photo": (sample_files.jpeg_with_gps(), "image/jpeg"),
            "clip": (sample_files.clip_bytes("webm"), "video/webm"),
            "pdf": (sample_files.pdf_bytes(), "application/pdf"),
        }
    )
    page, noise = await open_page(browser, base)
    await open_viewer(page, "a", [info(1, "photo", "jpeg")], (0, 0, 400, 400))
    stage = page.locator("#a .viewer-stage")

    async def shot() -> Image.Image:
        return Image.open(io.BytesIO(await stage.screenshot())).convert("RGB")

    def mean(image: Image.Image) -> float:
        return float(np.asarray(image.convert("L")).mean())

    def colour(image: Image.Image, dx: float, dy: float) -> str:
        r, _, b = np.asarray(image)[int(image.height * dy), int(image.width * dx)]
        return "red" if r > 150 > b else "blue" if b > 150 > r else "?"

    # EXIF orientation 6 (a phone held upright): the left (red) half shows on top.
    upright = await shot()
    assert (colour(upright, 0.5, 0.35), colour(upright, 0.5, 0.65)) == ("red", "blue")
    await page.locator("#a").get_by_test_id("viewer-rotate").click()
    await expect(page.locator("#a")).to_have_attribute("data-rotation", "90")
    turned = await shot()
    assert (colour(turned, 0.35, 0.5), colour(turned, 0.65, 0.5)) == ("blue", "red")

    # The window tool on a photo: drag up = brighter.
    await page.locator("#a").get_by_test_id("viewer-tool-window").click()
    await drag(page, await stage_centre(page, "a"), (0, -60))
    state = (await changes(page, "a"))[-1]
    assert state["brightness"] > 1.3 and state["rotation"] == 90
    brighter = await shot()
    assert mean(brighter) > mean(turned) * 1.1

    # A follower of the photo: same rotation.
    await open_viewer(page, "b", [info(1, "photo", "jpeg")], (450, 0, 300, 300))
    await call(page, "b", "apply", state)
    await expect(page.locator("#b")).to_have_attribute("data-rotation", "90")

    await open_viewer(page, "c", [info(2, "clip", "webm")], (0, 450, 300, 200))
    await expect(page.locator("#c video")).to_have_attribute("src", "/files/clip")
    await open_viewer(page, "d", [info(3, "pdf", "pdf")], (450, 450, 300, 200))
    link = page.locator("#d").get_by_test_id("viewer-open-pdf")
    assert await link.get_attribute("href") == "/files/pdf?download=1"
    assert await link.get_attribute("download") is not None
    assert await page.locator("iframe, embed, object").count() == 0
    assert noise == []


async def test_touch_pans_and_pinches_on_a_tablet(serve: Serve, browser: Browser) -> None:
    base = await serve({"ct": (sample_files.ct_dicom(1), "application/dicom")})
    page, noise = await open_page(
        browser, base, has_touch=True, is_mobile=True, viewport={"width": 820, "height": 1180}
    )
    await open_viewer(page, "a", [info(1, "ct")], (0, 0, 800, 700))
    cdp = await page.context.new_cdp_session(page)
    x, y = await stage_centre(page, "a")

    async def touch(kind: str, *points: tuple[float, float]) -> None:
        await cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [{"x": px, "y": py, "id": i} for i, (px, py) in enumerate(points)],
            },
        )

    await touch("touchStart", (x, y))
    for step in range(1, 9):
        await touch("touchMove", (x + 10 * step, y))
    await touch("touchEnd")
    panned = (await changes(page, "a"))[-1]
    assert panned["pan"][0] > 0.05 and panned["zoom"] == 1

    await touch("touchStart", (x - 50, y), (x + 50, y))
    for step in range(1, 11):
        await touch("touchMove", (x - 50 - 10 * step, y), (x + 50 + 10 * step, y))
    await touch("touchEnd")
    assert float((await attrs(page, "a"))["zoom"] or 0) > 1.2
    assert noise == []
