"""The server side of the SFU benchmark, as its own process (so its CPU can be read).

    python -m bench.sfu_server --mode ours|mediarelay --port P
        [--record none|copy|mediarecorder --record-dir DIR]

``ours`` is media.hub.MediaHub, exactly as the product runs it (on uvloop, the
product's default; CONSULT_BENCH_LOOP=asyncio for the standard loop). ``mediarelay`` is
the naive aiortc way: MediaRelay decodes each published track once and every
subscriber's sender encodes it again. ``--record copy`` (ours) records every publisher
by stream copy, as the product does; ``--record mediarecorder`` (mediarelay) records
every publisher with aiortc's MediaRecorder (decoded frames encoded again, into MP4 /
H.264: its cheaper format), the way an aiortc application records without our writer.
Signaling is a bare HTTP POST /offer (no socket.io, no database) so that only the media
path is measured. GET /stats reports event-loop lag.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from media.aiortc_hook import install_fast_clock
from media.hub import MediaHub
from media.ice_host import configure_host_addresses, install_rtp_fast_path
from media.latency import FORWARD_LATENCY

LAG_PERIOD = 0.05


class LagProbe:
    """Event-loop lag: how late a 50 ms sleep wakes up (20 probes a second: cheap)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(LAG_PERIOD)
            self.samples.append(time.monotonic() - start - LAG_PERIOD)
            del self.samples[:-20000]

    def p99_ms(self) -> float:
        ordered = sorted(self.samples)
        return 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0

    def reset(self) -> None:
        self.samples.clear()


class LateTrack(MediaStreamTrack):
    """A sender track whose source (a relay subscription) may come after the offer."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        return await (await self.source).recv()


@dataclass
class RelayRoom:
    tracks: dict[tuple[int, str], MediaStreamTrack] = field(default_factory=dict)
    peers: dict[int, RTCPeerConnection] = field(default_factory=dict)
    waiting: dict[tuple[int, str], list[LateTrack]] = field(default_factory=dict)


class MediaRelaySfu:
    """The baseline: decode once per publisher, encode once per subscriber."""

    def __init__(self, record_dir: Path | None = None) -> None:
        self.relay = MediaRelay()
        self.rooms: dict[str, RelayRoom] = {}
        self.record_dir = record_dir
        self.recorders: list[MediaRecorder] = []

    async def handle_offer(
        self, room_id: str, user_id: int, sdp: str, receive_from: list[int], publish: bool
    ) -> str:
        room = self.rooms.setdefault(room_id, RelayRoom())
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        room.peers[user_id] = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if publish:
                room.tracks[(user_id, track.kind)] = track
                for late in room.waiting.pop((user_id, track.kind), []):
                    late.source.set_result(self.relay.subscribe(track, buffered=False))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if publish and self.record_dir is not None:
            path = self.record_dir / room_id / f"{user_id}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            recorder = MediaRecorder(str(path))
            for kind in ("audio", "video"):
                track = room.tracks.get((user_id, kind))
                if track is not None:
                    recorder.addTrack(self.relay.subscribe(track, buffered=False))
            await recorder.start()
            self.recorders.append(recorder)
        for kind in ("audio", "video"):
            for publisher in receive_from:
                source = room.tracks.get((publisher, kind))
                if source is not None:
                    pc.addTrack(self.relay.subscribe(source, buffered=False))
                else:
                    late = LateTrack(kind)
                    room.waiting.setdefault((publisher, kind), []).append(late)
                    pc.addTrack(late)
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def close(self) -> None:
        for recorder in self.recorders:
            await recorder.stop()
        for room in self.rooms.values():
            for pc in room.peers.values():
                await pc.close()


async def run(mode: str, host: str, port: int, record: str, record_dir: Path | None) -> None:
    configure_host_addresses([host])
    install_rtp_fast_path()
    install_fast_clock()
    if (mode, record) not in (
        ("ours", "none"),
        ("ours", "copy"),
        ("mediarelay", "none"),
        ("mediarelay", "mediarecorder"),
    ):
        raise SystemExit(f"--record {record} does not go with --mode {mode}")
    if record != "none" and record_dir is None:
        raise SystemExit("--record needs --record-dir")
    sfu: MediaHub | MediaRelaySfu = (
        MediaHub() if mode == "ours" else MediaRelaySfu(record_dir if record != "none" else None)
    )
    probe = LagProbe()
    probe.start()

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        answer = await sfu.handle_offer(
            body["room"], body["user"], body["sdp"], body["receive_from"], body["publish"]
        )
        if record == "copy" and record_dir is not None and isinstance(sfu, MediaHub):
            sfu.start_recording(body["room"], record_dir / body["room"])
        return web.json_response({"sdp": answer})

    async def stats(request: web.Request) -> web.Response:
        lag = probe.p99_ms()
        if request.query.get("reset"):
            probe.reset()
        counts, _ = FORWARD_LATENCY.snapshot()
        return web.json_response({"loop_lag_p99_ms": lag, "forward_latency_counts": counts})

    app = web.Application()
    app.router.add_post("/offer", offer)
    app.router.add_get("/stats", stats)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        await sfu.close()

    app.cleanup_ctx.append(lifecycle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print("READY", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["ours", "mediarelay"], required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", choices=["none", "copy", "mediarecorder"], default="none")
    parser.add_argument("--record-dir", type=Path)
    args = parser.parse_args()
    main_task = run(args.mode, args.host, args.port, args.record, args.record_dir)
    loop = os.environ.get("CONSULT_BENCH_LOOP", "uvloop")
    with contextlib.suppress(KeyboardInterrupt):
        if loop == "uvloop":
            import uvloop

            uvloop.run(main_task)
        elif loop == "asyncio":
            asyncio.run(main_task)
        else:
            raise SystemExit(f"CONSULT_BENCH_LOOP={loop}: uvloop or asyncio")


if __name__ == "__main__":
    main()
