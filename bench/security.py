"""The security battery (issue 11): floods against a live call, a burst of filings, and
the offer/candidate fuzzer, against a real server process. Prints JSON.

    python -m bench.security [--seconds 15] [--fuzz 300] [--burst 200]

A call runs between two aiortc peers (15 fps each way) through the server the whole
time. For each flood, run from a separate process for ``--seconds``: the frames each
peer received per second (min and median, and seconds with none), ``/healthz``
latency (p50/p95, sampled every 100 ms) and what the flood got back (statuses).
Floods: wrong-password sign-ins (20 at a time), refused look-ups by a signed-in user
(20 at a time), ``room:media`` events from a joined socket, WebSocket handshakes
without a login (20 at a time), and 100 request bodies trickled a byte a second.

Then ``--burst`` concurrent consult filings by one clinician (statuses, rows, orphans),
and ``--fuzz`` mutated offers and as many candidates sent through ``room:offer`` /
``room:candidate`` (answered, refused, unanswered; tracebacks in the server's log).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio
from hypothesis import HealthCheck, given, settings

from tests.media.hostile_sdp import candidates, offers
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, login_client, submit_login
from tests.support.peers import ClientPeer
from tests.support.room_client import accepted_consult, join
from tests.support.server import run_server

FLOODS = ("look_ups", "room_media", "handshakes", "slow_bodies", "sign_in")
#: Each anonymous flood comes from its own attacker's address (the server trusts the bench
#: as its proxy, as behind the TLS proxy): the call's own sign-ins stay unaffected.
ATTACKERS = {
    "handshakes": "203.0.113.7",
    "slow_bodies": "203.0.113.8",
    "sign_in": "203.0.113.9",
}


def _from(kind: str) -> dict[str, str]:
    return {"X-Forwarded-For": ATTACKERS[kind]}


# -- floods, each in its own process ----------------------------------------------------


async def _until(seconds: float, one: Any, width: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    end = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < end:
            try:
                outcomes[str(await one())] += 1
            except Exception as exc:  # a flood keeps going whatever comes back
                outcomes[type(exc).__name__] += 1

    await asyncio.gather(*(worker() for _ in range(width)))
    return outcomes


async def _flood(kind: str, base: str, seconds: float) -> dict[str, Any]:
    if kind == "sign_in":

        async def sign_in() -> int:
            jar = aiohttp.CookieJar(unsafe=True)
            client = Client("", aiohttp.ClientSession(cookie_jar=jar, headers=_from(kind)), base)
            try:
                return (await submit_login(client, "specialist.central", "wrong password")).status
            finally:
                await client.session.close()

        return dict(await _until(seconds, sign_in, 20))
    if kind == "handshakes":
        async with aiohttp.ClientSession(headers=_from(kind)) as http:

            async def handshake() -> int:
                url = base + "/socket.io/?EIO=4&transport=websocket"
                try:
                    ws = await http.ws_connect(url)
                except aiohttp.WSServerHandshakeError as exc:
                    return exc.status
                await ws.close()
                return 101

            return dict(await _until(seconds, handshake, 20))
    if kind == "slow_bodies":
        return await _slow_bodies(base, seconds)
    if kind == "look_ups":  # another user than the call's: a signed-in insider
        insider = await login_client(base, "specialist.central")

        async def look_up() -> int:
            return (await insider.api("GET", "/api/consults/999999/note"))[0]

        try:
            return dict(await _until(seconds, look_up, 20))
        finally:
            await insider.session.close()
    clinician = await login_client(base, "clinician.demo")
    try:
        specialist = await login_client(base, "specialist.demo")
        consult_id = await accepted_consult(clinician, specialist)
        peer = ClientPeer((0, 0, 0))
        room = await join(base, clinician, consult_id, peer)
        flip = [False]

        async def media() -> str:
            flip[0] = not flip[0]
            payload = {"token": room.token, "audio": flip[0], "video": True}
            reply = await room.sio.call("room:media", payload, timeout=10)
            return str(reply.get("error", {}).get("code", "ok"))

        outcomes = dict(await _until(seconds, media, 5))
        await room.leave()
        await specialist.session.close()
        return {**outcomes, "consult": consult_id}
    finally:
        await clinician.session.close()


async def _slow_bodies(base: str, seconds: float) -> dict[str, Any]:
    host = urlsplit(base)
    outcomes: Counter[str] = Counter()
    started = time.monotonic()

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host.hostname, host.port)
        writer.write(
            f"POST /login HTTP/1.1\r\nHost: {host.netloc}\r\nContent-Length: 100000\r\n"
            f"X-Forwarded-For: {ATTACKERS['slow_bodies']}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
        )
        while time.monotonic() - started < seconds + 40:
            writer.write(b"a")
            try:
                await writer.drain()
                reply = await asyncio.wait_for(reader.read(64), 1.0)
            except TimeoutError:
                continue
            except ConnectionError:
                outcomes["reset"] += 1
                return
            outcomes[reply.split(b" ")[1].decode() if reply else "closed"] += 1
            outcomes[f"cut_by_{int((time.monotonic() - started) // 10) * 10}s"] += 1
            writer.close()
            return
        outcomes["still_open"] += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(100)))
    return dict(outcomes)


def _flood_process(kind: str, base: str, seconds: float, out: Any) -> None:
    out.put(asyncio.run(_flood(kind, base, seconds)))


# -- the live call and what it sees ------------------------------------------------------


async def _watch(base: str, peers: tuple[ClientPeer, ClientPeer], seconds: float) -> dict[str, Any]:
    fps: tuple[list[int], list[int]] = ([], [])
    latencies: list[float] = []
    end = time.monotonic() + seconds
    last = [p.received.video_frames for p in peers]
    next_second = time.monotonic() + 1
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                async with http.get(base + "/healthz", timeout=aiohttp.ClientTimeout(10)) as r:
                    await r.read()
                latencies.append((time.monotonic() - began) * 1000)
            except (aiohttp.ClientError, TimeoutError):
                latencies.append(10_000.0)
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
            if time.monotonic() >= next_second:
                next_second += 1
                for i, peer in enumerate(peers):
                    fps[i].append(peer.received.video_frames - last[i])
                    last[i] = peer.received.video_frames
    latencies.sort()
    return {
        "fps_clinician_min": min(fps[0]),
        "fps_clinician_median": statistics.median(fps[0]),
        "fps_specialist_min": min(fps[1]),
        "fps_specialist_median": statistics.median(fps[1]),
        "seconds_without_frames": sum(1 for a, b in zip(*fps, strict=True) if a == 0 or b == 0),
        "healthz_ms_p50": round(latencies[len(latencies) // 2], 1),
        "healthz_ms_p95": round(latencies[int(len(latencies) * 0.95)], 1),
    }


async def _under(
    kind: str | None, base: str, peers: tuple[ClientPeer, ClientPeer], seconds: float
) -> dict[str, Any]:
    if kind is None:
        return await _watch(base, peers, seconds)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_flood_process, args=(kind, base, seconds, out))
    process.start()
    await asyncio.sleep(1.5)  # the flood's own set-up (sign-ins, a room)
    seen = await _watch(base, peers, seconds - 1.5)
    result = await asyncio.get_running_loop().run_in_executor(None, out.get, True, 90)
    process.join(10)
    return {**seen, "flood": result}


# -- burst and fuzzer ---------------------------------------------------------------------


async def _burst(base: str, count: int, database: Path) -> dict[str, Any]:
    clinician = await login_client(base, "clinician.demo")
    try:
        replies = await asyncio.gather(
            *(clinician.api("POST", "/api/consults", request_body("Sốt")) for _ in range(count))
        )
    finally:
        await clinician.session.close()
    statuses = Counter(str(status) for status, _ in replies)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        orphans = db.execute(
            "SELECT COUNT(*) FROM consult_targets WHERE consult_id NOT IN (SELECT id FROM consults)"
        ).fetchone()[0]
    return {"sent": count, "statuses": dict(statuses), "orphan_targets": orphans}


async def _fuzz(base: str, examples: int) -> dict[str, Any]:
    clinician = await login_client(base, "clinician.demo")
    specialist = await login_client(base, "specialist.demo")
    consult_id = await accepted_consult(clinician, specialist)
    peer = ClientPeer((9, 9, 9))
    room = await join(base, clinician, consult_id, peer)
    results: dict[str, Counter[str]] = {"offers": Counter(), "candidates": Counter()}
    loop = asyncio.get_running_loop()
    fuzz = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )

    async def send(kind: str, event: str, payload: dict[str, Any]) -> None:
        try:
            reply = await room.sio.call(event, {"token": room.token, **payload}, timeout=10)
        except socketio.exceptions.TimeoutError:
            results[kind]["unanswered"] += 1
            return
        results[kind][str(reply.get("error", {}).get("code", "answered"))] += 1

    # Hypothesis drives the examples from a worker thread; each is sent on this loop.
    @fuzz
    @given(offers())
    def one_offer(sdp: str) -> None:
        payload = {"type": "offer", "sdp": sdp}
        asyncio.run_coroutine_threadsafe(send("offers", "room:offer", payload), loop).result()
        time.sleep(1.7)  # under the offer limit (6 per 10 s): every one reaches the hub

    @fuzz
    @given(candidates())
    def one_candidate(candidate: object) -> None:
        payload = {"candidate": candidate}
        asyncio.run_coroutine_threadsafe(send("candidates", "room:candidate", payload), loop)
        time.sleep(0.17)

    started = time.monotonic()
    await loop.run_in_executor(None, one_offer)
    await loop.run_in_executor(None, one_candidate)
    took = time.monotonic() - started
    await asyncio.sleep(1)
    await room.leave()
    for client in (clinician, specialist):
        await client.session.close()
    return {
        "examples_each": examples,
        "seconds": round(took, 1),
        **{kind: dict(counts) for kind, counts in results.items()},
    }


async def main(seconds: float, fuzz: int, burst: int) -> dict[str, Any]:
    proxy = {"CONSULT_SERVER_TRUSTED_PROXIES": "127.0.0.1"}
    with tempfile.TemporaryDirectory() as tmp, run_server(Path(tmp), proxy) as server:
        base = server.url
        clinician = await login_client(base, "clinician.demo")
        specialist = await login_client(base, "specialist.demo")
        consult_id = await accepted_consult(clinician, specialist)
        peers = (ClientPeer((200, 40, 40)), ClientPeer((40, 40, 200)))
        rooms = [
            await join(base, clinician, consult_id, peers[0]),
            await join(base, specialist, consult_id, peers[1]),
        ]
        await asyncio.sleep(5)  # media flowing and ramped up
        report: dict[str, Any] = {"call_without_flood": await _under(None, base, peers, seconds)}
        for kind in FLOODS:
            report[kind] = await _under(kind, base, peers, seconds)
        # The fuzzer files one consult; the burst then uses up the hour's filings.
        report["fuzzer"] = await _fuzz(base, fuzz)
        report["burst_of_filings"] = await _burst(base, burst, server.data_dir / "consult.sqlite3")
        log = server.log()
        report["server_log"] = {"bytes": len(log), "tracebacks": log.count("Traceback")}
        for room in rooms:
            await room.leave()
        for client in (clinician, specialist):
            await client.session.close()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--fuzz", type=int, default=300)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.seconds, args.fuzz, args.burst)), indent=2))
