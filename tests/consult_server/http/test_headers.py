"""Security headers on every response: pages, redirects, the router's 404 and 405,
client errors and unhandled ones; HSTS when the request came over https."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from consult_server.http.security import CSP, public
from tests.support.inproc import Harness, running_app

EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _headers(base: str, method: str, path: str, **headers: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, headers=headers, allow_redirects=False) as response,
    ):
        return response.status, response.headers


async def test_every_kind_of_response_carries_them(harness: Harness) -> None:
    for method, path, status in [
        ("GET", "/login", 200),
        ("GET", "/", 302),  # to the sign-in page
        ("GET", "/no/such/page", 404),
        ("DELETE", "/login", 405),
        ("GET", "/api/consults", 401),
    ]:
        got, headers = await _headers(harness.base, method, path)
        assert got == status, path
        for name, value in EXPECTED.items():
            assert headers.get(name) == value, (path, name)
        assert "Strict-Transport-Security" not in headers  # plain http here
    assert "connect-src 'self';" in CSP and "ws:" not in CSP


async def test_an_unhandled_error_carries_them_too(harness: Harness) -> None:
    @public
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    harness.app.router._frozen = False  # a route only this test has
    harness.app.router.add_get("/healthz-broken", broken)
    status, headers = await _headers(harness.base, "GET", "/healthz-broken")
    assert status == 500 and headers.get("X-Frame-Options") == "DENY"


async def test_hsts_when_https_reached_a_trusted_proxy(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    async with running_app(
        tmp_path, ticker=False, **{"server.trusted_proxies": ["127.0.0.1"]}, **database
    ) as harness:
        _, headers = await _headers(harness.base, "GET", "/", **{"X-Forwarded-Proto": "https"})
        assert headers["Strict-Transport-Security"] == "max-age=31536000"
