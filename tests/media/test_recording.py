"""Recording in the hub: each publisher's encoded frames, stream-copied as they were sent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av

from media.hub import MediaHub
from tests.support.encoded import CapturingPeer, EncodedVideoTrack, vp8_frames
from tests.support.sfu import ROOM, contiguous_in, eventually, frames, join, publishing


async def test_a_recorded_session_holds_each_publishers_frames_byte_for_byte(
    hub: MediaHub, tmp_path: Path
) -> None:
    video = EncodedVideoTrack(vp8_frames(count=90, gop=30))
    publisher = await join(hub, 1, CapturingPeer(0, video), [])
    viewer = await join(hub, 2, CapturingPeer(1), [1], publish=False)
    try:
        await eventually(lambda: publishing(hub, 1) and len(frames(viewer)) > 5)
        hub.start_recording(ROOM, tmp_path)
        started = time.monotonic()
        await asyncio.sleep(2.5)
        writers = await hub.stop_recording(ROOM)
        session = time.monotonic() - started
        # The call goes on after the recording stopped.
        seen = len(frames(viewer))
        await eventually(lambda: len(frames(viewer)) > seen + 5, what="frames after the stop")
    finally:
        await publisher.close()
        await viewer.close()
    assert set(writers) == {1}, "only the publisher is recorded"
    assert writers[1].stats.frames_dropped == 0 and writers[1].stats.errors == []
    with av.open(str(tmp_path / "1.webm")) as container:
        assert {s.type: s.codec_context.name for s in container.streams} == {
            "video": "vp8",
            "audio": "opus",
        }
        recorded = [bytes(p) for p in container.demux(video=0) if p.size]
    with av.open(str(tmp_path / "1.webm")) as container:
        duration = float(container.duration or 0) / av.time_base
        decoded = sum(len(p.decode()) for p in container.demux(video=0) if p.size)
    with av.open(str(tmp_path / "1.webm")) as container:
        audio = [p for p in container.demux(audio=0) if p.size]
        audio_decoded = sum(len(p.decode()) for p in audio)
    assert abs(duration - session) <= 0.05 * session, (duration, session)
    assert audio and audio_decoded == len(audio), "every audio frame decodes"
    assert len(recorded) >= 50, len(recorded)
    assert recorded[0][0] & 1 == 0, "the file starts on a key frame"
    assert contiguous_in(recorded, video.sent), "recorded frames differ from those sent"
    assert decoded == len(recorded), "every recorded frame decodes"
