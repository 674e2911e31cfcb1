"""Behind a trusted reverse proxy: the client's address (audit log) and scheme (Secure
cookies) come from X-Forwarded-*; from anyone else those headers change nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from consult_server.config import CONFIG
from consult_server.http.proxies import client_of, parse_networks
from consult_server.store.db import DB
from tests.support.inproc import Harness, running_app
from tests.support.recorded import insert_consult, seed_session
from tests.support.server import DEMO_PASSWORD

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/24"])


@pytest.mark.parametrize(
    ("remote", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the right-most hop
        ("127.0.0.1", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # past a second proxy
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("192.0.2.50", "203.0.113.9", "192.0.2.50"),  # not a proxy: the header is a lie
    ],
)
def test_client_address(remote: str, header: str, client: str) -> None:
    assert client_of(remote, header, PROXIES) == client


async def audited_remote(harness: Harness, headers: dict[str, str]) -> str:
    """A clinician opens a recording they may not see: the refusal's "from where"."""
    db = harness.app[DB]
    row = await db.fetch_one(
        "SELECT id, facility_id FROM users WHERE username = ?", ("clinician.demo",)
    )
    assert row is not None
    consult = await insert_consult(db, row["id"], row["facility_id"])
    directory = harness.app[CONFIG].data_dir / "recordings"
    seeded = await seed_session(db, directory, consult, [(row["id"], "clinician")], seconds=0.5)
    client = await harness.login("clinician.demo")
    response = await client.get(f"/review/sessions/{seeded.session_id}", headers=headers)
    assert response.status == 403
    last = await db.fetch_one(
        "SELECT remote FROM audit_log WHERE object <> 'login' ORDER BY id DESC"
    )
    assert last is not None
    return str(last["remote"])


async def login_cookie(harness: Harness, headers: dict[str, str]) -> str:
    client = await harness.anonymous()
    page = await (await client.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    async with client.session.post(
        harness.base + "/login",
        data={"username": "clinician.demo", "password": DEMO_PASSWORD, "csrf_token": token[1]},
        headers=headers,
        allow_redirects=False,
    ) as response:
        assert response.status == 302
        return response.headers.getall("Set-Cookie")[-1]


FORWARDED = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https"}


async def test_a_trusted_proxy_gives_the_client_address_and_scheme(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    async with running_app(
        tmp_path, ticker=False, **{"server.trusted_proxies": ["127.0.0.1"]}, **database
    ) as harness:
        assert await audited_remote(harness, FORWARDED) == "203.0.113.9"
        cookie = await login_cookie(harness, FORWARDED)
        assert "consult_session=" in cookie and "Secure" in cookie


async def test_without_trust_the_headers_change_nothing(clock_harness: Harness) -> None:
    assert await audited_remote(clock_harness, FORWARDED) == "127.0.0.1"
    cookie = await login_cookie(clock_harness, FORWARDED)
    assert "consult_session=" in cookie and "Secure" not in cookie
