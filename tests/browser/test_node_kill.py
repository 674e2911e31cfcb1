"""A node lost or drained behind nginx. Killed mid-call (``kill -9``): the room is placed
again on the live node and both browsers have fresh pictures and sound again, without a
reload, within 10 s; the recording goes on in a new session and the killed one is
marked interrupted once its process is back; no row is lost and the audit chain
verifies. Drained (``consult-server drain``): the call moves once, back within 5 s, and
the node takes no new room."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, Playwright

from tests.support.browser import (
    CLINICIAN_PICTURE,
    SPECIALIST_PICTURE,
    enter_room,
    start_consult,
    wait_for_audio,
    wait_for_picture,
)
from tests.support.cluster import NODE_NAME, nginx_cluster, two_sides
from tests.support.consult_requests import fill_patient
from tests.support.server import server_env

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow]

BACK_WITHIN_S = 10.0

FLOW_JS = """async () => {
  const stats = await window.consultRoom.stats();
  const sum = (kind, key) => stats.filter(s => s.type === 'inbound-rtp' && s.kind === kind)
                                  .reduce((n, s) => n + (s[key] || 0), 0);
  return {video: sum('video', 'framesDecoded'), audio: sum('audio', 'packetsReceived'),
          place: JSON.stringify(window.consultRoom.place())};
}"""


async def flowing_again(page: Page, old_place: str, started: float) -> float:
    """Seconds from ``started`` until ``page`` has moved off ``old_place`` and decodes
    new frames and receives sound there."""
    first: dict[str, Any] | None = None
    while time.monotonic() - started < 30:
        now = await page.evaluate(FLOW_JS)
        if now["place"] != old_place:
            if first is None or now["video"] < first["video"]:
                first = now  # a new peer connection's counters start again
            elif now["video"] >= first["video"] + 5 and now["audio"] >= first["audio"] + 20:
                return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"media never came back: {await page.evaluate(FLOW_JS)}")


def rows(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


async def test_a_killed_node_s_call_comes_back_on_the_live_node(
    playwright: Playwright, tmp_path: Path
) -> None:
    with nginx_cluster(tmp_path) as cluster:
        supervisor = cluster.server.process.pid
        async with two_sides(playwright, tmp_path, cluster.base) as (clinician, specialist):
            try:
                # A recorded consult (the patient consents).
                await clinician.get_by_test_id("consult-specialty").select_option(
                    "internal-medicine"
                )
                await fill_patient(clinician)
                await clinician.get_by_test_id("consult-summary").fill("Đau bụng, sốt")
                await clinician.get_by_test_id("consult-consent").check()
                await clinician.get_by_test_id("consult-submit").click()
                await specialist.get_by_test_id("accept-consult").first.click(timeout=15_000)
                await enter_room(specialist)
                await enter_room(clinician, within_ms=60_000)
                await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
                await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
                await wait_for_audio(specialist)
                await asyncio.sleep(3)  # a few seconds recorded
                db = cluster.server.data_dir / "consult.sqlite3"
                before = {
                    "events": rows(db, "SELECT id FROM consult_events"),
                    "audit": rows(db, "SELECT id, hash FROM audit_log"),
                }
                place = (await clinician.evaluate(FLOW_JS))["place"]
                holder = int(place.rsplit("-", 1)[1].split("/")[0])
                victim = cluster.node_pids()[holder]
                # The host loses the node: the supervisor is held so that it cannot start
                # it again, and the room must go to the other node.
                os.kill(supervisor, signal.SIGSTOP)
                killed_at = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                back = await asyncio.gather(
                    flowing_again(clinician, place, killed_at),
                    flowing_again(specialist, place, killed_at),
                )
                print(f"media back {back[0]:.2f} s (clinician), {back[1]:.2f} s (specialist)")
                moved = (await clinician.evaluate(FLOW_JS))["place"]
                assert f"/node/{NODE_NAME}-{1 - holder}/" in moved, moved
                assert max(back) <= BACK_WITHIN_S, back
                await wait_for_picture(clinician, SPECIALIST_PICTURE, within=5)
                await wait_for_picture(specialist, CLINICIAN_PICTURE, within=5)
                await asyncio.sleep(2)
            finally:
                os.kill(supervisor, signal.SIGCONT)  # it starts the killed node again
        # The restarted node recovers what its predecessor was writing: interrupted,
        # while the live node goes on writing the new session's files.
        deadline = time.monotonic() + 30
        while True:
            statuses = [r[0] for r in rows(db, "SELECT status FROM recordings ORDER BY id")]
            if statuses.count("interrupted") == 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        sessions = rows(db, "SELECT COUNT(*) FROM recording_sessions")[0][0]
        assert sessions == 2, sessions  # the killed one, and the one on the live node
        assert statuses == ["interrupted", "interrupted", "recording", "recording"], statuses
        after_events = set(rows(db, "SELECT id FROM consult_events"))
        after_audit = set(rows(db, "SELECT id, hash FROM audit_log"))
        assert set(before["events"]) <= after_events
        assert set(before["audit"]) <= after_audit
        verified = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "consult_server", "audit", "verify"],
            env=server_env(cluster.server.data_dir, {}),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_a_drained_node_s_call_moves_once_within_five_seconds(
    playwright: Playwright, tmp_path: Path
) -> None:
    with nginx_cluster(tmp_path, {"CONSULT_SERVER_DRAIN_SECONDS": "2"}) as cluster:
        async with two_sides(playwright, tmp_path, cluster.base) as (clinician, specialist):
            await start_consult(clinician, specialist, "Ho, khó thở")
            await wait_for_picture(clinician, SPECIALIST_PICTURE, within=30)
            await wait_for_picture(specialist, CLINICIAN_PICTURE, within=30)
            place = (await clinician.evaluate(FLOW_JS))["place"]
            holder = f"{NODE_NAME}-{int(place.rsplit('-', 1)[1].split('/')[0])}"
            drained_at = time.monotonic()
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "consult_server", "drain", "--node", holder],
                env=server_env(cluster.server.data_dir, {"CONSULT_REDIS_URL": cluster.redis_url}),
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
            )
            assert done.returncode == 0 and f"{holder}: draining" in done.stdout, done
            back = await asyncio.gather(
                flowing_again(clinician, place, drained_at),
                flowing_again(specialist, place, drained_at),
            )
            print(f"moved by the drain: media back {back[0]:.2f} s, {back[1]:.2f} s")
            assert max(back) <= 5.0, back
            # The drained node takes no new room: the next consult goes to the other.
            index = int(holder.rsplit("-", 1)[1])
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{cluster.port + 1 + index}/healthz") as reply,
            ):
                health = await reply.json()
            assert health["node"] == holder and health["takes_rooms"] is False, health
        log = cluster.server.log()
        assert "drained: 1 room(s) moved" in log, log[-2000:]
        assert " ERROR " not in log, log[-3000:]


async def flowing(page: Page) -> bool:
    """Fresh frames and sound over the next second."""
    first = await page.evaluate(FLOW_JS)
    await asyncio.sleep(1)
    then = await page.evaluate(FLOW_JS)
    return bool(then["video"] >= first["video"] + 5 and then["audio"] >= first["audio"] + 20)


async def test_a_rolling_restart_keeps_the_call(playwright: Playwright, tmp_path: Path) -> None:
    with nginx_cluster(tmp_path, {"CONSULT_SERVER_DRAIN_SECONDS": "1"}) as cluster:
        async with two_sides(playwright, tmp_path, cluster.base) as pages:
            await start_consult(pages[0], pages[1], "Đau đầu kéo dài")
            await wait_for_picture(pages[0], SPECIALIST_PICTURE, within=30)
            await wait_for_picture(pages[1], CLINICIAN_PICTURE, within=30)
            for page in pages:
                await page.evaluate("() => { window.sameDocument = true; }")
            before = cluster.node_pids()
            os.kill(cluster.server.process.pid, signal.SIGHUP)
            deadline = time.monotonic() + 90
            while True:
                now = cluster.node_pids()
                if len(now) == 2 and all(now[i] != before[i] for i in before):
                    break
                assert time.monotonic() < deadline, (before, now)
                await asyncio.sleep(0.5)
            # Both nodes are new processes; the call went on, in the same pages.
            deadline = time.monotonic() + 20
            while not all([await flowing(page) for page in pages]):
                assert time.monotonic() < deadline, "the call did not survive the restart"
            for page in pages:
                assert await page.evaluate("() => window.sameDocument === true")
            await wait_for_picture(pages[0], SPECIALIST_PICTURE, within=5)
            await wait_for_picture(pages[1], CLINICIAN_PICTURE, within=5)
        log = cluster.server.log()
        assert log.count("rolling restart: node") == 2, log[-3000:]
        assert " ERROR " not in log, log[-3000:]
