"""Request-rate limits (issue 11: "200 consults filed in 0.6 s; 500 refused look-ups
wrote 500 audit rows in 1 s")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from consult_server.store.db import DB
from tests.support.consult_requests import request_body
from tests.support.inproc import running_app
from tests.support.redis_server import redis_server

REQUEST = request_body("Sốt cao ba ngày")


async def test_a_user_past_the_limit_gets_429_and_others_go_on(tmp_path: Path) -> None:
    limited: dict[str, Any] = {"security.requests_per_minute_user": 30}
    async with running_app(tmp_path, **limited) as harness:
        flooder = await harness.login("clinician.demo")
        other = await harness.login("specialist.demo")
        statuses = []
        for _ in range(60):
            status, _ = await flooder.api("GET", "/api/consults/999999/note")
            statuses.append(status)
        assert statuses.count(429) >= 25  # the login itself counted too
        assert set(statuses) == {404, 429}
        async with flooder.session.get(harness.base + "/api/consults") as reply:
            assert reply.status == 429
            assert (await reply.json())["error"]["code"] == "rate_limited"
            assert 1 <= int(reply.headers["Retry-After"]) <= 60
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
        async with flooder.session.get(harness.base + "/static/css/app.css") as reply:
            assert reply.status == 200  # pages keep their look
        status, _ = await other.api("GET", "/api/consults")
        assert status == 200
        # Refused look-ups past the limit write nothing: the audit log holds only those
        # the limit let through.
        rows = await harness.app[DB].fetch_all(
            "SELECT id FROM audit_log WHERE action = 'refuse' AND object <> 'login'"
        )
        assert len(rows) <= 30


async def test_an_address_that_is_not_signed_in_is_limited(tmp_path: Path) -> None:
    limited: dict[str, Any] = {"security.requests_per_minute_address": 20}
    async with running_app(tmp_path, **limited) as harness, aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(30):
            async with http.get(harness.base + "/login") as reply:
                statuses.append(reply.status)
                if reply.status == 429:
                    assert "Retry-After" in reply.headers
        assert statuses[:20] == [200] * 20
        assert statuses[20:] == [429] * 10
        async with http.get(harness.base + "/healthz") as reply:
            assert reply.status == 200  # monitoring is never limited


async def test_filing_consults_has_its_own_limit_and_leaves_no_orphans(tmp_path: Path) -> None:
    limited: dict[str, Any] = {"security.consults_per_hour": 5}
    async with running_app(tmp_path, **limited) as harness:
        clinician = await harness.login("clinician.demo")
        results = await asyncio.gather(
            *(clinician.api("POST", "/api/consults", REQUEST) for _ in range(20))
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [201] * 5 + [429] * 15
        db = harness.app[DB]
        assert len(await db.fetch_all("SELECT id FROM consults")) == 5
        orphans = await db.fetch_all(
            "SELECT consult_id FROM consult_targets"
            " WHERE consult_id NOT IN (SELECT id FROM consults)"
        )
        assert orphans == []


async def test_with_redis_every_process_shares_one_count(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        overrides: dict[str, Any] = {"redis.url": url, "security.consults_per_hour": 4}
        async with (
            running_app(tmp_path / "a", **overrides) as one,
            running_app(tmp_path / "b", **overrides) as two,
        ):
            first = await one.login("clinician.demo")
            second = await two.login("clinician.demo")
            statuses = [(await first.api("POST", "/api/consults", REQUEST))[0] for _ in range(3)]
            statuses += [(await second.api("POST", "/api/consults", REQUEST))[0] for _ in range(3)]
            assert statuses == [201, 201, 201, 201, 429, 429]
