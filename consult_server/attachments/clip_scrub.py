"""Clips lose their metadata on the way in, by a stream copy: never a frame re-encoded.

A phone's clip carries where and with what it was taken: the container's tags (ISO
6709 location, Apple's ``com.apple.quicktime.location.ISO6709``, make, model,
software, creation time), each track's tags, user data, and sometimes whole timed
metadata tracks (GPS fixes through the recording). A clip from a patient's home must not
keep its location.

The clip's audio and video packets are copied, as they are, into a new container of
its kind (MP4, or WebM) that starts with no metadata: tags, user data, chapters and any
track that is not audio or video do not come across. The pictures and sound are the
sender's bytes; only the wrapping is new. In a worker thread, streaming.
"""

from __future__ import annotations

from pathlib import Path

import av

from consult_server.attachments.sniff import Kind


class NotAClip(ValueError):
    """The container cannot be read through, or holds no picture or sound."""


#: The only tag kept on a track: its language (which sound track is which).
_KEPT_TRACK_TAGS = ("language",)


def scrub_clip(source: Path, target: Path, kind: Kind) -> None:
    muxer = "webm" if kind is Kind.WEBM else "mp4"
    try:
        with av.open(str(source)) as clip:
            kept = [s for s in clip.streams if s.type in ("video", "audio")]
            if not kept:
                raise NotAClip("no picture or sound in this clip")
            with av.open(str(target), "w", format=muxer) as out:
                copies = {}
                for stream in kept:
                    copy = out.add_stream_from_template(stream)
                    tags = {k: v for k, v in stream.metadata.items() if k in _KEPT_TRACK_TAGS}
                    copy.metadata.clear()
                    copy.metadata.update(tags)
                    copies[stream.index] = copy
                copied = 0
                for packet in clip.demux(*kept):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = copies[packet.stream.index]
                    out.mux(packet)
                    copied += 1
                if not copied:
                    raise NotAClip("no picture or sound could be read from this clip")
    except NotAClip:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise NotAClip(f"this clip cannot be copied ({type(exc).__name__})") from None
