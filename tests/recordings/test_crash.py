"""A recorder killed with SIGKILL leaves a file that plays up to <= 2 s before the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

#: A whole process killed mid-recording (the slow part of the suite).
pytestmark = pytest.mark.slow


def test_killed_recorder_leaves_a_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.webm"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.record_until_killed", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("RECORDING"), line
    started = float(line.split()[1])
    time.sleep(4.5)
    killed_at = time.time()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    recorded_until = 0.0
    decoded = 0
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            if packet.pts is not None and packet.size:
                recorded_until = max(recorded_until, float(packet.pts * packet.time_base))
                decoded += len(packet.decode())
    lost = (killed_at - started) - recorded_until
    assert decoded > 60, decoded
    assert lost <= 2.0, f"lost {lost:.2f} s at the kill"
    print(f"seconds lost at the kill: {lost:.2f}")
