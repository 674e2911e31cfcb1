"""RTP as bytes, read back against aiortc's own parser and packetizer."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media import rtp

ABS, MID = 3, 9


def extensions_map() -> HeaderExtensionsMap:
    parameters = RTCRtpParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(
                id=ABS, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            RTCRtpHeaderExtensionParameters(id=MID, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
        ]
    )
    found = HeaderExtensionsMap()
    found.configure(parameters)
    return found


def test_a_packet_written_for_a_leg_reads_back_in_aiortc() -> None:
    head, tail = rtp.extension_block(ABS, MID, "12")
    payload = bytes(range(200))
    header = rtp.HEADER.pack(0x90, 0x80 | 100, 65_535, 0xFFFF_FFF0, 0xABCDEF01)
    sent = rtp.abs_send_time(1000.25)
    data = header + head + sent.to_bytes(3, "big") + tail + payload
    packet = RtpPacket.parse(data, extensions_map())
    assert (packet.payload_type, packet.marker, packet.sequence_number) == (100, 1, 65_535)
    assert (packet.timestamp, packet.ssrc, packet.payload) == (0xFFFF_FFF0, 0xABCDEF01, payload)
    assert packet.extensions.mid == "12" and packet.extensions.abs_send_time == sent
    assert rtp.payload_offset(data, data[0]) == len(data) - len(payload)
    assert rtp.extension(data, data[0], ABS) == sent.to_bytes(3, "big")
    assert rtp.extension(data, data[0], MID) == b"12"
    assert rtp.extension(data, data[0], 5) is None


def test_offsets_and_padding_of_aiortc_packets() -> None:
    packet = RtpPacket(payload_type=96, sequence_number=7, timestamp=9)
    packet.payload, packet.padding_size, packet.csrc = b"abc", 13, [1, 2]
    packet.extensions.abs_send_time = 0x123456
    data = packet.serialize(extensions_map())
    offset = rtp.payload_offset(data, data[0])
    assert data[offset : offset + 3] == b"abc" and len(data) - offset == 3 + 13
    assert rtp.padding(data, data[0]) == 13
    assert rtp.extension(data, data[0], ABS) == b"\x12\x34\x56"
    assert rtp.payload_offset(data[:14], data[0]) == -1, "a header cut short"


def test_key_frame_starts() -> None:
    # VP8 descriptor: X with a 15-bit picture id, S=1 PID=0; frame tag P=0 / P=1.
    assert rtp.vp8_keyframe_start(bytes([0x90, 0x80, 0x81, 0x23, 0x10]))
    assert not rtp.vp8_keyframe_start(bytes([0x90, 0x80, 0x81, 0x23, 0x11]))
    assert not rtp.vp8_keyframe_start(bytes([0x80, 0x80, 0x81, 0x23, 0x10])), "S=0"
    assert rtp.vp8_keyframe_start(bytes([0x10, 0x02]))
    assert not rtp.vp8_keyframe_start(bytes([0x90])), "cut short"
    assert rtp.h264_keyframe_start(bytes([0x65, 1])) and not rtp.h264_keyframe_start(bytes([0x41]))
    stap = bytes([0x18, 0, 2, 0x67, 0x42, 0, 1, 0x68])
    assert rtp.h264_keyframe_start(stap)
    assert rtp.h264_keyframe_start(bytes([0x7C, 0x85])) and not rtp.h264_keyframe_start(
        bytes([0x7C, 0x05])
    ), "FU-A: only its first fragment"
    assert rtp.keyframe_start("opus", b"\x00")


def test_sequence_distance_wraps() -> None:
    assert rtp.after(2, 65_535) == 3 and rtp.after(65_535, 2) == -3 and rtp.after(5, 5) == 0
