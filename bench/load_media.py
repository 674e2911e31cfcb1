"""The load side of the SFU benchmark: pre-encoded publishers, counting subscribers.

Publishers send VP8 640x480 @ 30 fps (~1.5 Mbit/s) and Opus that were encoded once,
before the run, so the load generator spends nothing on encoding. Subscribers count
RTP packets and complete encoded frames without decoding anything.
"""

from __future__ import annotations

import asyncio
import fractions
import pickle
import socket
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.packet import Packet

from media import aiortc_hook
from tests.support.encoded import EncodedFrame, EncodedVideoTrack

OPUS_CLOCK = 48_000


@cache
def vp8_camera(seconds: int = 10, fps: int = 30, kbps: int = 1500) -> tuple[EncodedFrame, ...]:
    """A 640x480 picture with moving detail and noise, so VP8 really spends ~``kbps``.
    Encoded once per machine and kept in the temp directory (it takes ~2 s)."""
    cache_file = Path(tempfile.gettempdir()) / f"consult-bench-vp8-{seconds}-{fps}-{kbps}.pickle"
    if cache_file.exists():
        frames: tuple[EncodedFrame, ...] = pickle.loads(cache_file.read_bytes())  # noqa: S301
        return frames
    encoded = _encode_camera(seconds, fps, kbps)
    cache_file.write_bytes(pickle.dumps(encoded))
    return encoded


def _encode_camera(seconds: int, fps: int, kbps: int) -> tuple[EncodedFrame, ...]:
    width, height = 640, 480
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.bit_rate = kbps * 1000
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "kf_max_dist": str(seconds * fps),
        "minrate": str(kbps * 1000),
        "maxrate": str(kbps * 1000),
        "bufsize": str(kbps * 1000),
    }
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (height, width), dtype=np.uint8)
    frames = []
    for index in range(seconds * fps):
        luma = np.roll(base, index * 5, axis=1) // 2 + rng.integers(
            0, 64, (height, width), dtype=np.uint8
        )
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(luma.astype(np.uint8).tobytes())
        frame.planes[1].update(bytes([128]) * (width * height // 4))
        frame.planes[2].update(bytes([128]) * (width * height // 4))
        frame.pts = index
        for packet in codec.encode(frame):
            data = bytes(packet)
            frames.append(EncodedFrame(data, not data[0] & 1))
    for packet in codec.encode(None):
        data = bytes(packet)
        frames.append(EncodedFrame(data, not data[0] & 1))
    return tuple(frames)


@cache
def opus_packets(seconds: int = 2) -> tuple[bytes, ...]:
    """20 ms Opus packets of a 440 Hz tone."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = OPUS_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32_000
    samples = 960
    packets: list[bytes] = []
    for index in range(seconds * 50):
        t = (np.arange(samples) + index * samples) / OPUS_CLOCK
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.stack([tone, tone]).T.reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = OPUS_CLOCK
        frame.pts = index * samples
        packets.extend(bytes(p) for p in codec.encode(frame))
    return tuple(packets)


class EncodedAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, packets: tuple[bytes, ...]) -> None:
        super().__init__()
        self.packets = packets
        self.count = 0
        self._start: float | None = None

    async def recv(self) -> Packet[Any]:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.count * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = Packet(self.packets[self.count % len(self.packets)])
        packet.pts = self.count * 960
        packet.time_base = fractions.Fraction(1, OPUS_CLOCK)
        self.count += 1
        return packet


@dataclass
class Counter:
    frames: int = 0
    audio_frames: int = 0
    first_frame_at: float | None = None


#: Receive buffer of each load socket. The kernel default (~200 KiB, ~90 full-size
#: packets) overflowed when Janus, which forwards each packet to all subscribers at
#: once, sent a key frame to 16 subscribers while this Python process was busy: drops,
#: then NACKs, then retransmissions, and the run collapsed (frames delivered ~1 %).
RECEIVE_BUFFER_BYTES = 8 << 20


def enlarge_receive_buffers(pc: RTCPeerConnection) -> None:
    """Give this peer's UDP sockets room for bursts (SO_RCVBUFFORCE as root)."""
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is None:
            continue
        for protocol in dtls.transport._connection._protocols:
            sock = protocol.transport.get_extra_info("socket") if protocol.transport else None
            if sock is None or sock.fileno() in seen:
                continue
            seen.add(sock.fileno())
            force = getattr(socket, "SO_RCVBUFFORCE", None)
            try:
                if force is None:
                    raise PermissionError
                sock.setsockopt(socket.SOL_SOCKET, force, RECEIVE_BUFFER_BYTES)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


@dataclass
class LoadPeer:
    """One participant of the load: publishes (optional) and receives ``remotes``."""

    pc: RTCPeerConnection
    video: EncodedVideoTrack | None
    counters: list[Counter] = field(default_factory=list)
    connected_at: float | None = None

    @classmethod
    def create(
        cls, remotes: int, publish: bool, answerer: bool = False, fps: int = 30, kbps: int = 1500
    ) -> LoadPeer:
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        video = None
        if publish:
            video = EncodedVideoTrack(vp8_camera(fps=fps, kbps=kbps), fps=fps)
            video.record = False
            pc.addTrack(EncodedAudioTrack(opus_packets()))
            sender = pc.addTrack(video)
            aiortc_hook.watch_sender(sender, video.request_keyframe, lambda bitrate: None)
        peer = cls(pc, video, [Counter() for _ in range(remotes)])
        extra = 0 if answerer else remotes - 1 if publish else remotes
        for _ in range(max(0, extra)):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        pc.on("track", peer._on_track)
        pc.on("connectionstatechange", peer._on_state)
        return peer

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        same_kind = [t for t in self.pc.getTransceivers() if t.kind == track.kind]
        transceiver = next(t for t in same_kind if t.receiver.track is track)
        index = same_kind.index(transceiver)
        if index >= len(self.counters):
            return
        counter = self.counters[index]
        video = track.kind == "video"

        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            if video:
                counter.frames += 1
                if counter.first_frame_at is None:
                    counter.first_frame_at = time.monotonic()
            else:
                counter.audio_frames += 1

        aiortc_hook.tap_receiver(transceiver.receiver, on_frame, lambda: None)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        enlarge_receive_buffers(self.pc)
        return str(self.pc.localDescription.sdp)

    async def answer_to(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        enlarge_receive_buffers(self.pc)
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def packets_received(self) -> int:
        """RTP packets received by all this peer's receivers, retransmissions included.

        Read from each receiver's per-SSRC statistics: ``getStats()`` names a receiver's
        streams by the receiver alone, so with a retransmission (RTX) stream one entry
        hides the other and the sum can even go backwards (it did, Janus at N = 16)."""
        total = 0
        for transceiver in self.pc.getTransceivers():
            streams = getattr(transceiver.receiver, "_RTCRtpReceiver__remote_streams", {})
            total += sum(stream.packets_received for stream in streams.values())
        return total

    def frames_sent(self) -> int:
        return self.video._count if self.video is not None else 0

    async def close(self) -> None:
        await self.pc.close()
