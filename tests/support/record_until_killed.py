"""Records pre-encoded media in real time until it is killed (for the SIGKILL test).

    python -m tests.support.record_until_killed OUT.webm

Prints "RECORDING <unix time of the session origin>" once frames flow.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from recordings.writer import RecordingWriter
from tests.support.encoded import vp8_frames


def main() -> None:
    frames = vp8_frames(count=60, gop=30)
    origin = time.monotonic()
    writer = RecordingWriter(Path(sys.argv[1]), origin=origin, audio=False)
    print(f"RECORDING {time.time()}", flush=True)
    index = 0
    while True:
        frame = frames[index % len(frames)]
        writer.push("video", frame.data, index * 3000, frame.keyframe)
        index += 1
        time.sleep(max(0.0, origin + index / 30 - time.monotonic()))


if __name__ == "__main__":
    main()
