"""Real aiortc client peers that publish a known picture and check what they receive."""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av import VideoFrame

Colour = tuple[int, int, int]
VIDEO_CLOCK = 90_000


def near(actual: Colour | None, expected: Colour, tolerance: int = 40) -> bool:
    """Whether a sampled colour is ``expected``'s, give or take the codec's error."""
    return actual is not None and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


class ColourTrack(MediaStreamTrack):
    """A 320x240 camera that shows one solid colour at 15 fps."""

    kind = "video"

    def __init__(self, colour: Colour, fps: int = 15) -> None:
        super().__init__()
        image = np.zeros((240, 320, 3), dtype=np.uint8)
        image[:, :] = colour
        self._image = image
        self._fps = fps
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        self._pts += VIDEO_CLOCK // self._fps
        wait = self._start + self._pts / VIDEO_CLOCK - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


@dataclass
class Received:
    frames: list[VideoFrame] = field(default_factory=list)
    audio_frames: int = 0
    #: Every video frame received (``frames`` keeps only the last few).
    video_frames: int = 0


class ClientPeer:
    """A participant's browser, played by aiortc."""

    def __init__(self, colour: Colour) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(ColourTrack(colour))
        self.received = Received()
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._drain(track)))

    async def _drain(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    assert isinstance(frame, VideoFrame)
                    self.received.frames.append(frame)
                    self.received.video_frames += 1
                    del self.received.frames[:-5]
                else:
                    self.received.audio_frames += 1
        except MediaStreamError:
            return

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    def centre_colour(self) -> Colour | None:
        if not self.received.frames:
            return None
        image = self.received.frames[-1].to_ndarray(format="rgb24")
        h, w, _ = image.shape
        r, g, b = image[h // 2, w // 2]
        return int(r), int(g), int(b)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


class Viewer:
    """A viewer's browser: receive-only transceiver pairs, one per picture, and the
    last frame of each picture by its place in the room state's order."""

    def __init__(self, pictures: int) -> None:
        # One transport for every picture, as browsers bundle.
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        for kind in ("audio", "video"):
            for _ in range(pictures):
                self.pc.addTransceiver(kind, direction="recvonly")
        self.last: dict[int, VideoFrame] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            return
        videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        place = next(i for i, t in enumerate(videos) if t.receiver.track is track)
        self._tasks.append(asyncio.create_task(self._drain(place, track)))

    async def _drain(self, place: int, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.last[place] = frame
        except MediaStreamError:
            return

    def colour(self, place: int) -> Colour | None:
        frame = self.last.get(place)
        if frame is None:
            return None
        image = frame.to_ndarray(format="rgb24")
        r, g, b = image[image.shape[0] // 2, image.shape[1] // 2]
        return int(r), int(g), int(b)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
