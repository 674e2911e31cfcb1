"""Stream-copy recording: encoded frames into a WebM (Matroska) file, never re-encoded.

One ``RecordingWriter`` per participant per session. The media path calls ``push``,
which never blocks: frames go into a bounded deque (an append, no lock, no thread wake)
that a writer thread drains every ``DRAIN_SECONDS`` and muxes with PyAV. A full deque (a
disk too slow) drops frames and counts them (the catalog and the review page show the
count); the call goes on. Every frame reaches the OS as it is muxed and clusters close
every second, so a process killed mid-session leaves a file that plays up to a fraction
of a second before the kill.

Timestamps are milliseconds since the session's shared origin, so the files of one
session line up: the first frame of each track is placed at its arrival time, later
ones by their RTP timestamps.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)

#: Frames waiting for the disk at most (~8 s of 30 fps video + audio).
QUEUE_FRAMES = 600
#: How often the writer thread takes what arrived: waking it per frame cost more than
#: the muxing itself (a thread switch and a GIL hand-off per frame).
DRAIN_SECONDS = 0.1
MS = Fraction(1, 1000)


def opus_head(channels: int = 2, pre_skip: int = 312, rate: int = 48000) -> bytes:
    """The Opus identification header Matroska stores as CodecPrivate (RFC 7845 5.1)."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, rate, 0, 0)


def vp8_size(keyframe: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame's header (RFC 6386 9.1)."""
    if len(keyframe) < 10 or keyframe[0] & 1 or keyframe[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", keyframe[6:10])
    return width & 0x3FFF, height & 0x3FFF


@dataclass
class TrackClock:
    """Maps one track's RTP timestamps onto the session's millisecond timeline."""

    clock_rate: int
    origin: float
    first_rtp: int | None = None
    first_ms: int = 0
    last_ms: int = -1

    def to_ms(self, rtp_timestamp: int, arrival: float) -> int:
        if self.first_rtp is None:
            self.first_rtp = rtp_timestamp
            self.first_ms = max(0, int((arrival - self.origin) * 1000))
        ms = self.first_ms + (rtp_timestamp - self.first_rtp) * 1000 // self.clock_rate
        ms = max(ms, self.last_ms + 1)  # strictly increasing for the muxer
        self.last_ms = ms
        return ms


@dataclass
class WriterStats:
    frames_written: int = 0
    frames_dropped: int = 0
    bytes_written: int = 0
    started_at: float | None = None
    errors: list[str] = field(default_factory=list)


class RecordingWriter:
    def __init__(
        self,
        path: Path,
        origin: float,
        video: bool = True,
        audio: bool = True,
        on_first_frame: Callable[[], None] | None = None,
    ) -> None:
        """``on_first_frame`` is called once, on the writer thread, when the first frame
        is in the file."""
        self.path = path
        self._on_first_frame = on_first_frame
        self.origin = origin
        self.want_video = video
        self.want_audio = audio
        self.stats = WriterStats()
        self._pending: deque[tuple[str, bytes, int, bool]] = deque()
        self._closing = threading.Event()
        # The writer thread's own: the open file and its streams by kind.
        self._container: Any = None
        self._streams: dict[str, Any] = {}
        self._clocks = {"video": TrackClock(90_000, origin), "audio": TrackClock(48_000, origin)}
        self._waiting_keyframe = video
        self._thread = threading.Thread(target=self._run, name=f"recorder-{path.name}", daemon=True)
        self._thread.start()

    # -- media path (event loop): never blocks -------------------------------------

    def push(self, kind: str, data: bytes, rtp_timestamp: int, keyframe: bool) -> bool:
        """Queue one encoded frame; False if it was dropped."""
        if kind == "video":
            if self._waiting_keyframe:
                if not keyframe:
                    return False
                self._waiting_keyframe = False
        elif self._waiting_keyframe:
            return False  # audio starts with the picture, so both tracks line up
        if len(self._pending) >= QUEUE_FRAMES or self._closing.is_set():
            self.stats.frames_dropped += 1
            return False
        ms = self._clocks[kind].to_ms(rtp_timestamp, time.monotonic())
        self._pending.append((kind, data, ms, keyframe))
        return True

    def new_source(self, kind: str) -> None:
        """The participant reconnected: map the new stream by arrival, video from a key frame."""
        clock = self._clocks[kind]
        self._clocks[kind] = TrackClock(clock.clock_rate, self.origin, last_ms=clock.last_ms)
        if kind == "video":
            self._waiting_keyframe = True

    def sink(self, kind: str) -> Callable[[bytes, int, bool], None]:
        """A callback for one track's frames (see media.publication.Publication.sinks)."""

        def push(data: bytes, rtp_timestamp: int, keyframe: bool) -> None:
            self.push(kind, data, rtp_timestamp, keyframe)

        return push

    def close(self, timeout: float = 10.0) -> None:
        """Finish the file (cues, duration); waits for the writer thread."""
        self._closing.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stats.errors.append("writer did not finish in time")

    # -- writer thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                closing = self._closing.wait(DRAIN_SECONDS)
                self._drain()
                if closing:
                    break
        except Exception as exc:  # a broken disk must not take the call down
            log.exception("recording %s failed", self.path.name)
            self.stats.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            if self._container is not None:
                try:
                    self._container.close()
                except Exception as exc:
                    self.stats.errors.append(f"close: {exc}")
            # Let go of the file's native state now, whoever still holds this writer.
            self._container, self._streams = None, {}

    def _drain(self) -> None:
        """Mux what arrived (the file opens at the first key frame, which sizes it)."""
        pending = self._pending
        while pending:
            kind, data, ms, keyframe = pending.popleft()
            if self._container is None:
                size = vp8_size(data) if kind == "video" else None
                if self.want_video and size is None:
                    continue
                self._container, self._streams = self._open(size)
                self.stats.started_at = time.time()
            stream = self._streams.get(kind)
            if stream is None:
                continue
            packet = av.Packet(data)
            packet.stream = stream
            packet.pts = packet.dts = ms
            packet.time_base = MS
            packet.is_keyframe = keyframe
            self._container.mux(packet)
            if not self.stats.frames_written and self._on_first_frame is not None:
                self._on_first_frame()
            self.stats.frames_written += 1
            self.stats.bytes_written += len(data)

    def _open(self, size: tuple[int, int] | None) -> tuple[Any, dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(
            str(self.path),
            mode="w",
            format="webm",
            options={"cluster_time_limit": "1000", "flush_packets": "1"},
        )
        streams: dict[str, Any] = {}
        if self.want_video and size is not None:
            # A stream for packets only: an encoder (add_stream) would start libvpx's
            # threads and buffers, several MiB per recording, for nothing.
            width, height = size
            streams["video"] = container.add_mux_stream(
                "libvpx", rate=30, width=width, height=height, time_base=MS
            )
        if self.want_audio:
            # Opus keeps an encoder's context: its OpusHead (channels, pre-skip) must be
            # in the file for browsers to play it, and a mux-only stream cannot carry it.
            # libopus's encoder is small and starts no thread.
            audio = container.add_stream("libopus", rate=48000)
            audio.codec_context.extradata = opus_head()
            audio.time_base = MS
            streams["audio"] = audio
        container.start_encoding()
        return container, streams
