"""Guard for media/aiortc_hook.py: fails loudly if an aiortc upgrade moves what it uses."""

from __future__ import annotations

import inspect

import aiortc
from aiortc import (
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    rtcdtlstransport,
    rtcrtpreceiver,
)

from media import aiortc_hook
from media.assembler import FrameAssembler


def test_aiortc_version_is_one_the_hook_was_checked_against() -> None:
    assert aiortc.__version__ in aiortc_hook.CHECKED_AIORTC_VERSIONS


def test_receiver_still_hands_encoded_frames_to_its_decoder_queue() -> None:
    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in source
    assert "self.__jitter_buffer.add(packet)" in source
    assert "self.__remote_bitrate_estimator" in source
    worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
    assert "input_q.get()" in worker and "if task is None" in worker
    init = inspect.getsource(RTCRtpReceiver.__init__)
    assert "self.__jitter_buffer = JitterBuffer(" in init and "self.__kind = kind" in init
    assert "self.__codecs: dict[int, RTCRtpCodecParameters] = {}" in init
    assert "self.__codecs[codec.payloadType] = codec" in inspect.getsource(RTCRtpReceiver.receive)
    receive = inspect.getsource(RTCRtpReceiver.receive)
    assert "self.__decoder_queue" in receive
    assert hasattr(RTCRtpReceiver, "_send_rtcp_pli") and hasattr(RTCRtpReceiver, "_send_rtcp")


def test_dtls_transport_still_counts_the_datagrams_it_receives() -> None:
    source = inspect.getsource(rtcdtlstransport.RTCDtlsTransport)
    assert "self.__rx_packets = 0" in source and "self.__rx_packets += 1" in source
    assert aiortc_hook.packets_received(RTCPeerConnection()) is None, "not negotiated"


def test_receiver_still_feeds_its_estimator_and_sends_remb_only_on_an_answer() -> None:
    """UplinkEstimate stands in for aiortc's estimator: same ``add`` keywords, and a
    None answer must mean no REMB from the receiver itself."""
    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "remb = self.__remote_bitrate_estimator.add(" in source
    for keyword in ("abs_send_time=", "arrival_time_ms=", "payload_size=", "ssrc="):
        assert keyword in source, keyword
    assert "remb is not None" in source
    estimate = aiortc_hook.UplinkEstimate()
    assert estimate.add(arrival_time_ms=0, abs_send_time=0, payload_size=1000, ssrc=1) is None  # type: ignore[func-returns-value]


def test_the_answer_still_takes_codecs_from_those_negotiated_per_transceiver() -> None:
    remote = inspect.getsource(RTCPeerConnection.setRemoteDescription)
    assert "transceiver._codecs = common" in remote
    assert "find_common_codecs(" in remote


def test_sender_still_sees_receiver_reports_for_its_own_ssrc() -> None:
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "isinstance(packet, (RtcpRrPacket, RtcpSrPacket))" in rtcp
    assert "x.ssrc == self._ssrc" in rtcp


def test_sender_still_routes_pli_to_send_keyframe_and_packs_packets() -> None:
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in rtcp and "RTCP_PSFB_APP" in rtcp
    encoded = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in encoded


async def test_tap_replaces_the_queue_before_start_and_refuses_after() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    receiver = transceiver.receiver
    seen: list[object] = []
    tap = aiortc_hook.tap_receiver(receiver, lambda codec, frame: seen.append(frame), lambda: None)
    assert receiver._RTCRtpReceiver__decoder_queue is tap  # type: ignore[attr-defined]
    assert receiver._RTCRtpReceiver__remote_bitrate_estimator is None  # type: ignore[attr-defined]
    assembler = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert isinstance(assembler, FrameAssembler) and assembler.video
    tap.put(None)
    tap.get()  # returns at once once stopped: the decoder thread would end here
    await pc.close()


def test_fast_clock_agrees_with_aiortc_clock() -> None:
    from aiortc import clock

    assert aiortc_hook.fast_current_ms() - clock.current_ms() in range(-2, 3)
    ntp_ms = (aiortc_hook.fast_current_ntp_time() - clock.current_ntp_time()) * 1000 >> 32
    assert -2 <= ntp_ms <= 2
    high = aiortc_hook.fast_current_ntp_time() >> 32
    assert (
        high == clock.current_ntp_time() >> 32 or abs(high - (clock.current_ntp_time() >> 32)) == 1
    )
    for module in ("rtcrtpsender", "rtcrtpreceiver", "rtcdtlstransport"):
        source = inspect.getsource(getattr(aiortc, module))
        assert "from . import clock" in source, f"{module} no longer reads aiortc.clock"
