"""Two server processes sharing a real redis-server: live updates cross nodes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.consult_requests import request_body
from tests.support.inproc import listen, login_client
from tests.support.redis_server import redis_server
from tests.support.server import run_server

pytestmark = pytest.mark.redis


async def test_a_request_filed_on_one_node_reaches_a_specialist_on_the_other(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as url:
        env = {"CONSULT_REDIS_URL": url}
        with (
            run_server(tmp_path, env, "node-a") as node_a,
            run_server(tmp_path, env, "node-b") as node_b,
        ):
            clinician = await login_client(node_a.url, "clinician.demo")
            specialist = await login_client(node_b.url, "specialist.demo")
            specialist_io, seen_b = await listen(specialist)
            clinician_io, seen_a = await listen(clinician)
            try:
                status, body = await clinician.api(
                    "POST",
                    "/api/consults",
                    request_body("Khó thở"),
                )
                assert status == 201
                consult_id = body["consult"]["id"]
                deadline = time.monotonic() + 10
                while not seen_b:
                    assert time.monotonic() < deadline, "node B's specialist was never told"
                    await asyncio.sleep(0.05)
                assert seen_b[0]["consult"]["id"] == consult_id
                assert seen_b[0]["consult"]["summary"] == "Khó thở"
                # And back: accepted on node B, the clinician on node A sees it.
                status, _ = await specialist.api("POST", f"/api/consults/{consult_id}/accept")
                assert status == 200
                while not any(u["consult"]["state"] == "accepted" for u in seen_a):
                    assert time.monotonic() < deadline + 10, "node A's clinician was never told"
                    await asyncio.sleep(0.05)
            finally:
                await specialist_io.disconnect()
                await clinician_io.disconnect()
                await clinician.session.close()
                await specialist.session.close()
