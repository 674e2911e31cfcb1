"""The pages' files as a weak link needs them: under the release's content hash, kept
by the browser for a year, compressed; the translation catalog one of them; a page's
module graph listed for fetching ahead."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import aiohttp

from consult_server.app import WEB_DIR
from consult_server.http.assets import ASSETS, Assets
from consult_server.http.i18n import Translations
from tests.support.inproc import Harness

STATIC = WEB_DIR / "static"


async def test_pages_name_hashed_files_kept_a_year_and_compressed(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    page = await (await clinician.get("/")).text()
    version = harness.app[ASSETS].version
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    assert f'src="/static/{version}/js/clinician.js"' in page
    assert f'content="/static/{version}/i18n/vi.json"' in page
    # The catalog is no longer inside every page.
    assert '"queue.title"' not in page and len(page.encode()) < 30_000

    async with aiohttp.ClientSession(auto_decompress=False) as session:
        url = f"{harness.base}/static/{version}/js/room.js"
        async with session.get(url, headers={"Accept-Encoding": "gzip, br"}) as reply:
            assert reply.status == 200
            assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert reply.headers["Content-Encoding"] == "gzip"
            assert reply.headers["Content-Type"].startswith("text/javascript")
            body = gzip.decompress(await reply.read())
        assert body == (STATIC / "js" / "room.js").read_bytes()
        async with session.get(url, headers={"Accept-Encoding": "identity"}) as reply:
            assert "Content-Encoding" not in reply.headers
            assert await reply.read() == (STATIC / "js" / "room.js").read_bytes()

        # The catalog: the language's merged translations.
        async with session.get(f"{harness.base}/static/{version}/i18n/vi.json") as reply:
            assert reply.headers["Content-Encoding"] == "gzip"
            catalog = json.loads(gzip.decompress(await reply.read()))
        assert catalog["queue.title"] == "Yêu cầu hội chẩn đến"

        # A page of another release asking for its files gets today's, not to be kept;
        # the plain paths still serve; nothing outside the files is reachable.
        async with session.get(f"{harness.base}/static/0123456789abcdef/css/app.css") as reply:
            assert reply.status == 200 and reply.headers["Cache-Control"] == "no-cache"
        async with session.get(f"{harness.base}/static/css/app.css") as reply:
            assert reply.status == 200
            assert await reply.read() == (STATIC / "css" / "app.css").read_bytes()
        for path in ("js/nothing.js", "../config.toml", "%2e%2e/%2e%2e/pyproject.toml"):
            async with session.get(f"{harness.base}/static/{version}/{path}") as reply:
                assert reply.status == 404, path


def test_a_change_to_any_file_is_a_new_version(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text('import { b } from "./b.js";\nexport const a = b;\n')
    (tmp_path / "js" / "b.js").write_text('import "../vendor/c.js";\nexport const b = 1;\n')
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "c.js").write_text("window.c = 1;\n")
    translations = Translations()
    before = Assets(tmp_path, translations)
    assert before.modules("js/a.js") == [
        before.url("js/a.js"),
        before.url("js/b.js"),
        before.url("vendor/c.js"),
    ]
    (tmp_path / "vendor" / "c.js").write_text("window.c = 2;\n")
    assert Assets(tmp_path, translations).version != before.version


def test_the_room_graph_is_every_module_the_room_loads() -> None:
    assets = Assets(STATIC, Translations())
    listed = {url.rsplit("/", 1)[1] for url in assets.modules("js/room.js")}
    assert {"room.js", "call.js", "tiles.js", "i18n.js", "socket.io.esm.min.js"} <= listed
    # dwv is imported only when a DICOM is opened: not fetched ahead.
    assert "dwv.min.js" not in listed
