"""Two server processes on one real PostgreSQL and one real redis-server: a request filed
on one node is seen and accepted on the other, concurrent accepts from both nodes have
exactly one winner, and the audit chain both nodes append to verifies."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.consult_requests import request_body
from tests.support.inproc import Client, listen, login_client
from tests.support.postgres import PostgresServer
from tests.support.redis_server import redis_server
from tests.support.server import run_server, server_env

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROUNDS = 8


async def _file(clinician: Client, summary: str) -> int:
    status, body = await clinician.api(
        "POST",
        "/api/consults",
        request_body(summary, urgency="urgent"),
    )
    assert status == 201, body
    return int(body["consult"]["id"])


async def test_two_nodes_share_one_postgresql(tmp_path: Path, postgres: PostgresServer) -> None:
    url = postgres.new_database()
    name = url.rsplit("/", 1)[1]
    with redis_server(tmp_path) as redis_url:
        env = {"CONSULT_REDIS_URL": redis_url, "CONSULT_DATABASE_URL": url}
        with (
            run_server(tmp_path, env, "node-a") as node_a,
            run_server(tmp_path, env, "node-b") as node_b,
        ):
            clients = [
                await login_client(node_a.url, "clinician.demo"),
                # An urgent request reaches the district's and the central hospital's
                # internal medicine: two specialists, each on a different node.
                await login_client(node_a.url, "specialist.central"),
                await login_client(node_b.url, "specialist.demo"),
                await login_client(node_a.url, "supervisor.demo"),
                await login_client(node_b.url, "clinician2.demo"),
            ]
            clinician, central_a, district_b, supervisor_a, outsider_b = clients
            district_io, seen_b = await listen(district_b)
            try:
                # Filed on A, seen live and accepted on B.
                first = await _file(clinician, "Đau ngực, khó thở")
                deadline = time.monotonic() + 10
                while not any(u["consult"]["id"] == first for u in seen_b):
                    assert time.monotonic() < deadline, "node B's specialist was never told"
                    await asyncio.sleep(0.05)
                status, body = await district_b.api("POST", f"/api/consults/{first}/accept")
                assert status == 200, body
                # Both nodes accept the same requests at once: one wins each time.
                ids = [await _file(clinician, f"Ca {n}") for n in range(ROUNDS)]
                winners: dict[int, str] = {}
                for consult_id in ids:
                    path = f"/api/consults/{consult_id}/accept"
                    (sa, ba), (sb, bb) = await asyncio.gather(
                        central_a.api("POST", path), district_b.api("POST", path)
                    )
                    assert sorted((sa, sb)) == [200, 409], (ba, bb)
                    winners[consult_id] = "specialist.central" if sa == 200 else "specialist.demo"
                    loser = bb if sa == 200 else ba
                    assert loser["error"]["code"] == "consult_accepted"
                rows = postgres.psql(
                    "SELECT c.id, u.username, (SELECT COUNT(*) FROM consult_events e"
                    " WHERE e.consult_id = c.id AND e.kind = 'accepted')"
                    " FROM consults c JOIN users u ON u.id = c.accepted_by ORDER BY c.id",
                    name,
                )
                stored = {int(i): (who, int(n)) for i, who, n in _rows(rows)}
                assert stored[first] == ("specialist.demo", 1)
                for consult_id, who in winners.items():
                    assert stored[consult_id] == (who, 1)

                # Both nodes append to the audit chain at once: a supervisor's views on
                # A, an outsider's refusals on B.
                session_id = int(
                    postgres.psql(
                        "INSERT INTO recording_sessions (consult_id, started_at, ended_at)"
                        f" VALUES ({first}, 1000, 1060) RETURNING id",
                        name,
                    ).splitlines()[0]
                )
                page = f"/review/sessions/{session_id}"

                async def look(client: Client) -> int:
                    async with client.session.get(client.base + page) as response:
                        return response.status

                statuses = await asyncio.gather(
                    *(look(c) for _ in range(20) for c in (supervisor_a, outsider_b))
                )
                assert statuses.count(200) == 20 and statuses.count(403) == 20
            finally:
                await district_io.disconnect()
                for client in clients:
                    await client.session.close()
        actions = postgres.psql(
            "SELECT action, COUNT(*) FROM audit_log WHERE action <> 'sign'"
            " GROUP BY action ORDER BY action",
            name,
        )
        # 20 views of the session page (and one of the consult's files' list: once per
        # ten minutes), 20 refusals, and each client's sign-in (the demo's history signed
        # its notes before).
        assert dict(_rows(actions)) == {"login": "5", "refuse": "20", "view": "21"}
        verdict = _audit_verify(tmp_path, url)
        assert verdict.returncode == 0, verdict.stdout + verdict.stderr
        (total,) = _rows(postgres.psql("SELECT COUNT(*) FROM audit_log", name))
        assert int(total[0]) == 46 + 42, "those, and the demo history's 42 signed notes"
        assert f"intact: {total[0]} entries" in verdict.stdout
        # And a link broken behind the server's back is found.
        postgres.psql(
            "ALTER TABLE audit_log DISABLE TRIGGER USER;"
            " UPDATE audit_log SET action = 'view' WHERE id = (SELECT MAX(id) FROM audit_log"
            " WHERE action = 'refuse')",
            name,
        )
        broken = _audit_verify(tmp_path, url)
        assert broken.returncode == 1 and "BROKEN" in broken.stdout


def _audit_verify(tmp: Path, url: str) -> subprocess.CompletedProcess[str]:
    """``consult-server audit verify`` against the shared database, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "consult_server", "audit", "verify"],
        env=server_env(tmp / "data", {"CONSULT_DATABASE_URL": url}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _rows(out: str) -> list[list[str]]:
    return [line.split("|") for line in out.splitlines() if line]
