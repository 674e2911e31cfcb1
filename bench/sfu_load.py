"""The load generator of the SFU benchmark, as its own process.

    python -m bench.sfu_load --system ours|mediarelay|janus --url URL --fanout N | --consults K

Connects the publishers and subscribers, waits until media flows, then prints
``WINDOW START``, measures for ``--seconds``, prints ``WINDOW END`` (the orchestrator
reads the server's CPU between the two), brings in a late joiner (fan-out only) and
prints ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.janus import HOST_IP, JanusClient, JanusError
from bench.load_media import LoadPeer, opus_packets, vp8_camera
from media.ice_host import configure_host_addresses


@dataclass
class Subscription:
    """``peer.counters[index]`` receives ``publisher``'s media."""

    peer: LoadPeer
    index: int
    publisher: LoadPeer


class Signaler:
    async def start(self) -> None: ...

    async def publish_and_receive(
        self, room: str, user: int, receive_from: list[int], all_users: list[int]
    ) -> list[LoadPeer]:
        raise NotImplementedError

    async def subscribe(self, room: str, user: int, publisher: int) -> LoadPeer:
        raise NotImplementedError

    async def close(self) -> None: ...


class HttpSignaler(Signaler):
    """Ours and the MediaRelay baseline: one peer per participant, POST /offer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession()

    async def _offer(
        self, peer: LoadPeer, room: str, user: int, receive_from: list[int], publish: bool
    ) -> None:
        body = {
            "room": room,
            "user": user,
            "sdp": await peer.offer(),
            "receive_from": receive_from,
            "publish": publish,
        }
        async with self.http.post(self.url + "/offer", json=body) as response:
            answer = await response.json()
        await peer.accept(answer["sdp"])

    async def publish_and_receive(
        self, room: str, user: int, receive_from: list[int], all_users: list[int]
    ) -> list[LoadPeer]:
        peer = LoadPeer.create(remotes=len(receive_from), publish=True)
        await self._offer(peer, room, user, receive_from, True)
        return [peer]

    async def subscribe(self, room: str, user: int, publisher: int) -> LoadPeer:
        peer = LoadPeer.create(remotes=1, publish=False)
        await self._offer(peer, room, user, [publisher], False)
        return peer

    async def close(self) -> None:
        await self.http.close()


class JanusSignaler(Signaler):
    """Janus VideoRoom: a publisher peer per participant, a subscriber peer per feed."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession()
        self.client = JanusClient(self.http)
        self.rooms: dict[str, int] = {}
        self.feeds: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        await self.client.start()
        self.admin = await self.client.attach()

    async def _room(self, room: str) -> int:
        if room not in self.rooms:
            number = 1000 + len(self.rooms)
            await self.client.message(
                self.admin,
                {
                    "request": "create",
                    "room": number,
                    "publishers": 64,
                    "bitrate": 1_600_000,
                    "videocodec": "vp8",
                    "audiocodec": "opus",
                },
            )
            self.rooms[room] = number
        return self.rooms[room]

    async def publish_and_receive(
        self, room: str, user: int, receive_from: list[int], all_users: list[int]
    ) -> list[LoadPeer]:
        number = await self._room(room)
        publisher = LoadPeer.create(remotes=0, publish=True)
        handle = await self.client.attach()
        await self.client.message(
            handle,
            {
                "request": "joinandconfigure",
                "room": number,
                "ptype": "publisher",
                "display": str(user),
            },
            {"type": "offer", "sdp": await publisher.offer()},
        )
        event = await self.client.event(handle, want_jsep=True)
        await publisher.accept(event["jsep"]["sdp"])
        self.feeds[(room, user)] = int(event["plugindata"]["data"]["id"])
        return [publisher]

    async def subscribe(self, room: str, user: int, publisher: int) -> LoadPeer:
        number = await self._room(room)
        feed = self.feeds[(room, publisher)]
        peer = LoadPeer.create(remotes=1, publish=False, answerer=True)
        handle = await self.client.attach()
        join = {
            "request": "join",
            "room": number,
            "ptype": "subscriber",
            "streams": [{"feed": feed}],
        }
        for attempt in range(50):
            await self.client.message(handle, join)
            try:
                event = await self.client.event(handle, want_jsep=True)
                break
            except JanusError:
                # The feed's media is not up yet ("No such feed"): try again shortly.
                if attempt == 49:
                    raise
                await asyncio.sleep(0.2)
        answer = await peer.answer_to(event["jsep"]["sdp"])
        await self.client.message(handle, {"request": "start"}, {"type": "answer", "sdp": answer})
        return peer

    async def close(self) -> None:
        await self.client.close()
        await self.http.close()


async def wait_flowing(subs: list[Subscription], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not all(s.peer.counters[s.index].frames > 5 for s in subs):
        if time.monotonic() > deadline:
            stuck = sum(1 for s in subs if s.peer.counters[s.index].frames <= 5)
            raise RuntimeError(f"{stuck} of {len(subs)} subscriptions got no media")
        await asyncio.sleep(0.1)


async def connect_fanout(signaler: Signaler, n: int) -> tuple[list[LoadPeer], list[Subscription]]:
    [publisher] = await signaler.publish_and_receive("fan", 1, [], [1])
    await asyncio.sleep(0.5)
    subs = []
    for i in range(n):
        peer = await signaler.subscribe("fan", 100 + i, 1)
        subs.append(Subscription(peer, 0, publisher))
    return [publisher], subs


async def connect_consults(
    signaler: Signaler, k: int, janus: bool
) -> tuple[list[LoadPeer], list[Subscription]]:
    peers: list[LoadPeer] = []
    subs: list[Subscription] = []
    for i in range(k):
        room = f"c{i}"
        a = (await signaler.publish_and_receive(room, 1, [2], [1, 2]))[0]
        b = (await signaler.publish_and_receive(room, 2, [1], [1, 2]))[0]
        peers += [a, b]
        if janus:
            sa = await signaler.subscribe(room, 1, 2)
            sb = await signaler.subscribe(room, 2, 1)
            peers += [sa, sb]
            subs += [Subscription(sa, 0, b), Subscription(sb, 0, a)]
        else:
            subs += [Subscription(a, 0, b), Subscription(b, 0, a)]
    return peers, subs


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    janus = args.system == "janus"
    configure_host_addresses([HOST_IP if janus else "127.0.0.1"])
    vp8_camera()
    opus_packets()
    signaler: Signaler = JanusSignaler() if janus else HttpSignaler(args.url)
    await signaler.start()
    peers: list[LoadPeer] = []
    try:
        if args.fanout:
            peers, subs = await connect_fanout(signaler, args.fanout)
        else:
            peers, subs = await connect_consults(signaler, args.consults, janus)
        peers += [s.peer for s in subs if s.peer not in peers]
        await wait_flowing(subs)
        await asyncio.sleep(args.warmup)
        publishers = {id(s.publisher): s.publisher for s in subs}
        sent0 = {k: p.frames_sent() for k, p in publishers.items()}
        got0 = [s.peer.counters[s.index].frames for s in subs]
        receivers = {id(s.peer): s.peer for s in subs}
        packets0 = sum([await p.packets_received() for p in receivers.values()])
        print("WINDOW START", flush=True)
        start = time.monotonic()
        await asyncio.sleep(args.seconds)
        elapsed = time.monotonic() - start
        print("WINDOW END", flush=True)
        packets = sum([await p.packets_received() for p in receivers.values()]) - packets0
        sent = {k: p.frames_sent() - sent0[k] for k, p in publishers.items()}
        expected = sum(sent[id(s.publisher)] for s in subs)
        got = sum(s.peer.counters[s.index].frames - g for s, g in zip(subs, got0, strict=True))
        result: dict[str, Any] = {
            "forwarded_pps": round(packets / elapsed, 1),
            "frames_delivered": round(got / expected, 4) if expected else None,
            "subscriptions": len(subs),
            "late_joiner_first_frame_s": None,
        }
        if args.fanout:
            began = time.monotonic()
            late = await signaler.subscribe("fan", 999, 1)
            peers.append(late)
            deadline = time.monotonic() + 10
            while late.counters[0].first_frame_at is None and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)  # polling keeps the hot path free of events
            first = late.counters[0].first_frame_at
            if first is not None:
                result["late_joiner_first_frame_s"] = round(first - began, 3)
                if late.connected_at is not None:
                    result["late_joiner_after_connect_s"] = round(first - late.connected_at, 3)
        return result
    finally:
        for peer in peers:
            await peer.close()
        await signaler.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["ours", "mediarelay", "janus"], required=True)
    parser.add_argument("--url", default="")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--fanout", type=int)
    group.add_argument("--consults", type=int)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
