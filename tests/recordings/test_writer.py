"""The stream-copy writer, reopened with av: codecs, duration, every frame decodable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av

from recordings.writer import QUEUE_FRAMES, RecordingWriter, opus_head, vp8_size
from tests.support.encoded import vp8_frames


def opus_frames(count: int) -> list[bytes]:
    import numpy as np

    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = 48000
    codec.layout = "stereo"
    codec.format = "s16"
    out: list[bytes] = []
    for i in range(count):
        t = (np.arange(960) + i * 960) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 6000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.stack([tone, tone]).T.reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = i * 960
        out.extend(bytes(p) for p in codec.encode(frame))
    return out


def test_headers() -> None:
    assert opus_head()[:8] == b"OpusHead" and len(opus_head()) == 19
    key = next(f for f in vp8_frames() if f.keyframe)
    assert vp8_size(key.data) == (320, 240)
    assert vp8_size(b"\x01" * 20) is None


def test_stream_copy_reopens_with_every_frame_decodable(tmp_path: Path) -> None:
    video = vp8_frames(count=60, gop=30)
    audio = opus_frames(100)
    path = tmp_path / "p1.webm"
    writer = RecordingWriter(path, origin=time.monotonic())
    # Two seconds of a call: 30 fps video and 50 fps audio, interleaved by time.
    for i in range(60):
        writer.push("video", video[i].data, i * 3000, video[i].keyframe)
        for j in range(i * 5 // 3, min(100, (i + 1) * 5 // 3)):
            writer.push("audio", audio[j], j * 960, True)
        time.sleep(1 / 60)
    writer.close()
    assert writer.stats.errors == [] and writer.stats.frames_dropped == 0
    with av.open(str(path)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        assert kinds == {"video": "vp8", "audio": "opus"}
        decoded = {"video": 0, "audio": 0}
        for packet in container.demux():
            if packet.size:
                for _ in packet.decode():
                    decoded[packet.stream.type] += 1
        duration = float(container.duration or 0) / av.time_base
    assert decoded["video"] == 60, decoded
    assert decoded["audio"] >= 95, decoded
    assert 1.9 <= duration <= 2.2, duration
    # Written as they were: the first video packet is the encoder's own key frame.
    with av.open(str(path)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
        assert bytes(first) == video[0].data


class SlowDiskWriter(RecordingWriter):
    """A writer whose disk stalls: each drain waits until the test lets it go."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.disk = threading.Event()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _drain(self) -> None:
        self.disk.wait()
        super()._drain()


def test_a_stalled_disk_drops_frames_and_counts_them_but_push_goes_on(tmp_path: Path) -> None:
    video = vp8_frames(count=60, gop=30)
    writer = SlowDiskWriter(tmp_path / "slow.webm", origin=time.monotonic(), audio=False)
    pushed = 3 * QUEUE_FRAMES
    accepted = sum(
        writer.push("video", video[i % 60].data, i * 3000, video[i % 60].keyframe)
        for i in range(pushed)
    )
    # The stalled disk held nothing up: every push returned, the surplus was dropped.
    assert accepted == QUEUE_FRAMES
    assert writer.stats.frames_dropped == pushed - QUEUE_FRAMES
    writer.disk.set()
    writer.close()
    assert writer.stats.frames_written == QUEUE_FRAMES
    with av.open(str(writer.path)) as container:
        decoded = sum(len(p.decode()) for p in container.demux(video=0) if p.size)
    assert decoded == QUEUE_FRAMES
