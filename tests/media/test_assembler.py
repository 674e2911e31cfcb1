"""Frame assembly for forwarding: complete frames at once, holes filled or skipped."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from media.assembler import GIVE_UP, FrameAssembler


def packet(seq: int, timestamp: int, data: bytes, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=timestamp)
    p.marker = int(marker)
    p._data = data  # type: ignore[attr-defined]
    return p


def frame_packets(first_seq: int, timestamp: int, count: int, tag: bytes) -> list[RtpPacket]:
    return [
        packet(first_seq + i, timestamp, tag + bytes([i]), marker=i == count - 1)
        for i in range(count)
    ]


def feed(assembler: FrameAssembler, packets: list[RtpPacket]) -> list[tuple[int, bytes]]:
    out = []
    for p in packets:
        _, frame = assembler.add(p)
        if frame is not None:
            out.append((frame.timestamp, frame.data))
    return out


def test_a_frame_goes_out_on_its_marker_packet() -> None:
    a = FrameAssembler(video=True)
    assert feed(a, frame_packets(10, 900, 3, b"x")) == [], "half a frame before: wait"
    got = feed(a, frame_packets(13, 1800, 3, b"a"))
    assert got == [(1800, b"a\x00a\x01a\x02")]


def test_reordered_and_retransmitted_packets_complete_the_frame() -> None:
    a = FrameAssembler(video=True)
    feed(a, [packet(99, 0, b"", marker=True)])
    p = frame_packets(100, 3000, 4, b"f") + frame_packets(104, 6000, 2, b"g")
    got = feed(a, [p[0], p[2], p[3], p[4], p[5]])
    assert got == [], "a hole holds the frame and the ones after it"
    assert feed(a, [p[1]]) == [(3000, b"f\x00f\x01f\x02f\x03")]
    # The next complete frame comes out with the next packet.
    assert feed(a, frame_packets(106, 9000, 1, b"h")) == [(6000, b"g\x00g\x01")]


def test_a_lost_packet_is_given_up_at_the_next_boundary_with_a_picture_loss() -> None:
    losses: list[int] = []
    a = FrameAssembler(video=True, on_loss=lambda: losses.append(1))
    feed(a, [packet(65530, 0, b"", marker=True)])
    lost = frame_packets(65531, 3000, 3, b"l")
    after = []
    for n in range(GIVE_UP // 2 + 2):
        after += frame_packets(65534 + 2 * n, 6000 + 3000 * n, 2, bytes([65 + n % 26]))
    results = [a.add(p) for p in [lost[0], lost[2], *after]]
    assert any(picture_lost for picture_lost, _ in results), "giving up asks for a keyframe"
    frames = [f for _, f in results if f is not None]
    assert frames and all(f.timestamp >= 6000 for f in frames), "the broken frame never goes out"
    assert a.skipped >= 1 and losses and len(a._pending) < 8


def test_duplicates_and_old_packets_are_ignored_and_wrap_is_handled() -> None:
    a = FrameAssembler(video=True)
    feed(a, [packet(65535, 0, b"", marker=True)])
    p = frame_packets(0, 3000, 2, b"w")
    assert feed(a, [p[0], p[0], p[1]]) == [(3000, b"w\x00w\x01")]
    assert feed(a, [p[1], packet(65534, 0, b"old", marker=True)]) == []


def test_audio_packets_are_frames_at_once() -> None:
    a = FrameAssembler(video=False)
    _, frame = a.add(packet(5, 960, b"opus"))
    assert frame is not None and (frame.timestamp, frame.data) == (960, b"opus")


def test_syncs_on_a_packet_that_starts_a_vp8_frame() -> None:
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    a = FrameAssembler(video=True, codecs={96: vp8})
    start = packet(7, 3000, b"k0")
    start.payload = bytes([0x10, 0x00])  # S=1, PID=0: first packet of a frame
    middle = packet(8, 3000, b"k1", marker=True)
    middle.payload = bytes([0x00, 0x00])
    assert feed(a, [start, middle]) == [(3000, b"k0k1")], "the stream's first frame is kept"
    b = FrameAssembler(video=True, codecs={96: vp8})
    assert feed(b, [middle]) == [], "a frame joined in the middle is not"


def test_a_keyframe_longer_than_the_give_up_distance_is_not_a_hole() -> None:
    a = FrameAssembler(video=True)
    feed(a, [packet(0, 0, b"", marker=True)])
    big = frame_packets(1, 3000, GIVE_UP * 3, b"K")
    got = feed(a, big)
    assert len(got) == 1 and len(got[0][1]) == 2 * GIVE_UP * 3
    assert a.skipped == 0
