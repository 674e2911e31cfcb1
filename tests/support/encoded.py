"""Pre-encoded media for tests and benchmarks: publishers that cost no encoding.

``vp8_frames`` encodes a moving picture once with libvpx (keyframe every ``gop``
frames); ``EncodedVideoTrack`` plays those frames as ``av.Packet``s at a steady rate,
so aiortc's sender only packetizes them. On a keyframe request it jumps to the next
keyframe, as a real encoder would answer a PLI. ``CapturingPeer`` receives without
decoding: it taps its own receivers and records each encoded frame's bytes.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import av
import numpy as np
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.packet import Packet

from media import aiortc_hook
from media.forwarding import is_keyframe

VIDEO_CLOCK = 90_000


@dataclass(frozen=True)
class EncodedFrame:
    data: bytes
    keyframe: bool


@cache
def vp8_frames(
    width: int = 320,
    height: int = 240,
    count: int = 60,
    gop: int = 30,
    kbps: int = 400,
    fps: int = 30,
) -> tuple[EncodedFrame, ...]:
    """Encode ``count`` frames of a moving gradient with a keyframe every ``gop`` frames."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.bit_rate = kbps * 1000
    codec.gop_size = gop
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "kf_max_dist": str(gop),
    }
    frames = []
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    for index in range(count):
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[:, :, 0] = np.roll(ramp, index * 4)[None, :]
        image[:, :, 1] = (index * 7) % 255
        image[:, :, 2] = np.roll(ramp, -index * 3)[None, :]
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        pict_type = (
            av.video.frame.PictureType.I if index % gop == 0 else av.video.frame.PictureType.NONE
        )
        frame.pict_type = pict_type
        for packet in codec.encode(frame):
            data = bytes(packet)
            frames.append(EncodedFrame(data, is_keyframe("VP8", data)))
    for packet in codec.encode(None):
        data = bytes(packet)
        frames.append(EncodedFrame(data, is_keyframe("VP8", data)))
    return tuple(frames)


class EncodedVideoTrack(MediaStreamTrack):
    """Plays pre-encoded VP8 frames in a loop at ``fps``; jumps to a keyframe on request."""

    kind = "video"

    def __init__(self, frames: tuple[EncodedFrame, ...], fps: int = 30) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.index = 0
        self.sent: list[bytes] = []
        self.keyframe_requests = 0
        self._start: float | None = None
        self._count = 0
        self._jump = False
        self.record = True

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._jump = True

    async def recv(self) -> Packet[Any]:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._jump:
            self._jump = False
            while not self.frames[self.index % len(self.frames)].keyframe:
                self.index += 1
        frame = self.frames[self.index % len(self.frames)]
        self.index += 1
        packet = Packet(frame.data)
        packet.pts = self._count * (VIDEO_CLOCK // self.fps)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        if self.record:
            self.sent.append(frame.data)
        return packet


@dataclass
class Capture:
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    audio_frames: int = 0


class CapturingPeer:
    """A participant played by aiortc that publishes pre-encoded video (optional) and
    receives ``remotes`` publishers' audio + video, recording encoded frames as they are."""

    def __init__(
        self, remotes: int, video: EncodedVideoTrack | None = None, audio: bool = True
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.video = video
        self.captures: list[Capture] = [Capture() for _ in range(remotes)]
        self.connected_at: float | None = None
        self._receivers_seen: dict[int, int] = {}
        if video is not None:
            if audio:
                from aiortc.mediastreams import AudioStreamTrack

                self.pc.addTrack(AudioStreamTrack())
            else:
                self.pc.addTransceiver("audio", direction="recvonly")
            sender = self.pc.addTrack(video)
            aiortc_hook.watch_sender(sender, video.request_keyframe, lambda bitrate: None)
            extra = remotes - 1
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
            extra = remotes - 1
        for _ in range(max(0, extra)):
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceivers = [t for t in self.pc.getTransceivers() if t.kind == track.kind]
        transceiver = next(t for t in transceivers if t.receiver.track is track)
        index = transceivers.index(transceiver)
        capture = self.captures[index]
        on_frame: Callable[[RTCRtpCodecParameters, JitterFrame], None]
        if track.kind == "video":

            def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
                capture.frames.append((time.monotonic(), frame.data))

        else:

            def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
                capture.audio_frames += 1

        aiortc_hook.tap_receiver(transceiver.receiver, on_frame, lambda: None)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def close(self) -> None:
        await self.pc.close()
