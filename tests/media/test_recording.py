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


async def test_a_recorded_room_everyone_left_keeps_recording_when_they_come_back(
    hub: MediaHub, tmp_path: Path
) -> None:
    """Within the room's grace the people may come back (a reload, a dropped link): the
    same file goes on, from a key frame, until the recording is stopped."""
    first = await join(hub, 1, CapturingPeer(0, EncodedVideoTrack(vp8_frames())), [])
    await eventually(lambda: publishing(hub, 1))
    hub.start_recording(ROOM, tmp_path)
    await asyncio.sleep(1.0)
    await first.close()
    await hub.leave(ROOM, 1)
    room = hub.room(ROOM)
    assert room is not None and not room.peers, "an empty recorded room is kept"
    written = room.recorders[1].stats.frames_written
    await asyncio.sleep(0.5)  # away for half a second
    again = await join(hub, 1, CapturingPeer(0, EncodedVideoTrack(vp8_frames())), [])
    try:
        await eventually(lambda: room.recorders[1].stats.frames_written > written + 80)
    finally:
        await again.close()
    writers = await hub.stop_recording(ROOM)
    await hub.close_room(ROOM)
    assert hub.room(ROOM) is None
    assert writers[1].stats.frames_written > written + 80
    with av.open(str(tmp_path / "1.webm")) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        decoded = sum(len(p.decode()) for p in packets)
        times = [float(p.pts * p.time_base) for p in packets if p.pts is not None]
    assert decoded == len(packets), "every frame decodes"
    # Two stretches of video with the absence between them: both are in the one file.
    gap = max(range(1, len(times)), key=lambda i: times[i] - times[i - 1])
    assert 0.4 < times[gap] - times[gap - 1] < 1.5, times
    assert gap >= 20 and len(times) - gap >= 10, (gap, len(times))
