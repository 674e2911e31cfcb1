"""The pages' static files and translation catalogs, as a weak link needs them.

A commune clinician on an Edge-class link (240 kbit/s, 400 ms round trips) pays for
every byte and every round trip of a page. So:

- Each file is served under a path naming the release's content hash,
  ``/static/<version>/js/room.js``, cached by the browser for a year without asking
  again (``immutable``). A module's relative imports (``./i18n.js``) resolve under the
  same hashed path, so the whole module graph is cached; any change to any file makes
  a new version, and pages ask for the new paths.
- Text files (scripts, styles, SVG, catalogs) go out gzip-compressed when the browser
  takes it, compressed once and kept in memory.
- The translation catalog, the same for every page of a language, is one of these
  files (``/static/<version>/i18n/vi.json``) instead of 40 KB inside every page.
- ``modules(entry)`` lists a page module's static import graph, so a page can fetch
  the next page's scripts ahead (the clinician's, while a request waits for its room).

The unversioned ``/static/...`` paths stay (a page of the previous release, the tests'
own pages), revalidated on every use.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from consult_server.http.i18n import LANGUAGES, Translations

#: Compressed when the browser accepts it; everything else (images, fonts) as it is.
_COMPRESSED = {".js", ".css", ".svg", ".json", ".html", ".txt", ".md", ".map"}
_IMMUTABLE = "public, max-age=31536000, immutable"
#: A module's static imports and re-exports: ``import … from "./x.js"``, ``import "./y.js"``.
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'";]*?(?:from\s*)?["'](\.{1,2}/[^"']+)["']""", re.M
)


@dataclass
class Asset:
    body: bytes
    content_type: str
    compress: bool
    #: Compressed on first use (start-up stays quick), then kept.
    gzipped: bytes | None = None


class Assets:
    def __init__(self, root: Path, translations: Translations) -> None:
        self.root = root.resolve()
        self._files: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            relative = path.relative_to(self.root).as_posix()
            body = path.read_bytes()
            digest.update(relative.encode() + b"\0" + body)
            self._files[relative] = _asset(relative, body)
        for lang in LANGUAGES:
            catalog = json.dumps(translations.for_language(lang), ensure_ascii=False)
            body = catalog.encode()
            digest.update(lang.encode() + b"\0" + body)
            self._files[f"i18n/{lang}.json"] = _asset(f"{lang}.json", body)
        #: The release's content hash: in every asset URL.
        self.version = digest.hexdigest()[:16]

    def url(self, path: str) -> str:
        return f"/static/{self.version}/{path}"

    def modules(self, entry: str) -> list[str]:
        """The URLs of ``entry`` (``js/room.js``) and every module it imports, at once
        or through others."""
        seen: list[str] = []
        todo = [entry]
        while todo:
            path = todo.pop()
            if path in seen or path not in self._files:
                continue
            seen.append(path)
            text = self._files[path].body.decode("utf-8", "replace")
            base = path.rsplit("/", 1)[0]
            for specifier in _IMPORT.findall(text):
                todo.append(_join(base, specifier))
        return [self.url(path) for path in seen]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        asset = self._files.get(request.match_info["path"])
        if asset is None:
            raise web.HTTPNotFound()
        current = request.match_info["version"] == self.version
        headers = {
            "Content-Type": asset.content_type,
            # An older release's page asking for its files gets today's, not kept.
            "Cache-Control": _IMMUTABLE if current else "no-cache",
            "Vary": "Accept-Encoding",
        }
        body = asset.body
        if asset.compress and "gzip" in request.headers.get("Accept-Encoding", ""):
            if asset.gzipped is None:
                asset.gzipped = gzip.compress(asset.body, 9, mtime=0)
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)


def _asset(name: str, body: bytes) -> Asset:
    suffix = Path(name).suffix
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if suffix == ".js":
        content_type = "text/javascript"
    if content_type.startswith("text/") or suffix in (".js", ".json", ".svg"):
        content_type += "; charset=utf-8"
    # Under 1 KiB, compression saves less than its headers cost.
    return Asset(body, content_type, compress=suffix in _COMPRESSED and len(body) >= 1024)


def _join(base: str, specifier: str) -> str:
    """``js`` + ``../vendor/x.js`` → ``vendor/x.js``."""
    parts = base.split("/") if base else []
    for piece in specifier.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


ASSETS: web.AppKey[Assets] = web.AppKey("assets")
