"""The real app in-process on a loopback port, with a signed-in HTTP client per user."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from consult_server.accounts.demo import load_demo
from consult_server.accounts.directory import ACCOUNTS
from consult_server.app import create_app
from consult_server.config import Config, ensure_data_dir, load_config
from tests.support.server import DEMO_PASSWORD, SECRET

_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Client:
    username: str
    session: aiohttp.ClientSession
    base: str
    csrf: str = ""

    async def get(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        return await self.session.get(self.base + path, allow_redirects=False, **kw)

    async def api(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        async with self.session.request(
            method,
            self.base + path,
            json=body,
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
        ) as response:
            return response.status, await response.json()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.session.cookie_jar)


@dataclass
class Harness:
    app: web.Application
    server: TestServer
    clients: list[Client]

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def anonymous(self) -> Client:
        client = await anonymous_client(self.base)
        self.clients.append(client)
        return client

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> Client:
        client = await login_client(self.base, username, password)
        self.clients.append(client)
        return client


async def anonymous_client(base: str) -> Client:
    jar = aiohttp.CookieJar(unsafe=True)
    return Client("", aiohttp.ClientSession(cookie_jar=jar), base)


@dataclass(frozen=True)
class Submitted:
    status: int
    text: str
    set_cookie: str


async def submit_login(client: Client, username: str, password: str) -> Submitted:
    """Fill the real sign-in form (its CSRF token included) as ``client`` and send it."""
    page = await (await client.get("/login")).text()
    match = _META.search(page)
    assert match, "login page has no CSRF token"
    async with client.session.post(
        client.base + "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
        allow_redirects=False,
    ) as response:
        return Submitted(
            response.status, await response.text(), response.headers.get("Set-Cookie", "")
        )


async def anonymous_login(base: str, username: str, password: str) -> Submitted:
    """One sign-in attempt from a fresh browser (closed afterwards)."""
    client = await anonymous_client(base)
    try:
        return await submit_login(client, username, password)
    finally:
        await client.session.close()


async def login_client(base: str, username: str, password: str = DEMO_PASSWORD) -> Client:
    """Sign in through the real form (CSRF included); the caller closes ``session``."""
    client = await anonymous_client(base)
    client.username = username
    submitted = await submit_login(client, username, password)
    assert submitted.status == 302, f"login of {username} failed: {submitted.status}"
    async with client.session.get(base + "/") as response:  # follows the role's redirect
        home = await response.text()
    found = _META.search(home)
    assert found
    client.csrf = found.group(1)
    return client


@functools.cache
def demo_password_hash() -> str:
    """The in-process demo accounts' argon2id hash, made once per test process, at
    argon2's lowest cost (1 pass, 1 MiB). The suite signs in over a thousand times, and
    at the server's cost (~120 ms of a core each here) that was two minutes of CPU. The
    server verifies it as any other hash (the parameters travel in it), so sign-in is
    tested as it runs; the tests that need the real cost (a flood of sign-ins, the pool)
    hash at it themselves, and the browser tests' servers load the demo with real hashes.
    """
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(DEMO_PASSWORD)


def make_config(tmp: Path, **overrides: Any) -> Config:
    base = {"data.dir": str(tmp / "data"), "media.host_addresses": ["127.0.0.1"]}
    base.update(overrides)
    return ensure_data_dir(
        load_config(None, env={"CONSULT_SECURITY_SECRET_KEY": SECRET}, overrides=base)
    )


@asynccontextmanager
async def running_app(tmp: Path, ticker: bool = True, **overrides: Any) -> AsyncIterator[Harness]:
    app = create_app(make_config(tmp, **overrides), ticker=ticker)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await load_demo(app[ACCOUNTS], DEMO_PASSWORD, demo_password_hash())
    harness = Harness(app, server, [])
    try:
        yield harness
    finally:
        for client in harness.clients:
            await client.session.close()
        await server.close()


async def listen(client: Client) -> tuple[socketio.AsyncClient, list[Any]]:
    """A socket signed in as ``client`` collecting its ``consult:update`` messages."""
    sio = socketio.AsyncClient(reconnection=False)
    seen: list[Any] = []
    sio.on("consult:update", seen.append)
    await sio.connect(
        client.base, headers={"Cookie": client.cookie_header()}, transports=["websocket"]
    )
    return sio, seen
