"""Make a file a killed recorder left fully playable: stream-copy what it holds into a
new file with a duration and cues (seeking), and put it in the old one's place.

A killed writer leaves the clusters it flushed but no duration, no cues, and maybe half
a cluster at the end; players handle the first two badly (no seek bar) and the demuxer
stops at the third. Nothing is decoded or re-encoded.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)


def remux(path: Path) -> int:
    """Rewrite ``path`` in place; return the packets kept (0: nothing readable, the
    file is left as it was)."""
    temporary = path.with_name(path.name + ".remux")
    kept = 0
    try:
        with av.open(str(path)) as source:
            inputs = [s for s in source.streams if s.type in ("video", "audio")]
            if not inputs:
                return 0
            with av.open(str(temporary), mode="w", format="webm") as target:
                outputs: dict[int, Any] = {
                    s.index: target.add_stream_from_template(s) for s in inputs
                }
                with contextlib.suppress(av.error.InvalidDataError, av.error.EOFError):
                    for packet in source.demux(inputs):
                        if packet.dts is None or not packet.size:
                            continue
                        packet.stream = outputs[packet.stream.index]
                        target.mux(packet)
                        kept += 1
    except (av.error.FFmpegError, OSError) as exc:
        log.warning("could not remux %s: %s", path.name, exc)
        temporary.unlink(missing_ok=True)
        return 0
    if not kept:
        temporary.unlink(missing_ok=True)
        return 0
    os.replace(temporary, path)
    return kept
