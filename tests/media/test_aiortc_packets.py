"""Guard for media/aiortc_packets.py: fails loudly if an aiortc or aioice upgrade moves
what the packet path uses."""

from __future__ import annotations

import inspect

import aioice.ice
from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from media import aiortc_packets


def test_the_transport_still_takes_its_datagrams_from_the_connection() -> None:
    assert "self._queue.put_nowait((data, component))" in inspect.getsource(
        aioice.ice.Connection.data_received
    )
    assert "self.receiver.data_received(data" in inspect.getsource(aioice.ice.StunProtocol)
    send = inspect.getsource(aioice.ice.Connection.sendto)
    assert "self._nominated.get(component)" in send and "active_pair.remote_addr" in send
    assert "self.transport.sendto(data, addr)" in inspect.getsource(
        aioice.ice.StunProtocol.send_data
    )
    recv_next = inspect.getsource(RTCDtlsTransport._recv_next)
    assert "self._rx_srtp.unprotect(data)" in recv_next
    assert "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in recv_next
    assert "self._rx_srtp.unprotect_rtcp(data)" in recv_next
    assert "await self._handle_rtcp_data(data)" in recv_next
    assert "self._tx_srtp.protect(data)" in inspect.getsource(RTCDtlsTransport._send_rtp)
    assert "self._rtp_router.route_rtp(packet)" in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data
    )


def test_the_receiver_still_reports_from_its_remote_streams() -> None:
    rtcp = inspect.getsource(RTCRtpReceiver._run_rtcp)
    assert "self.__remote_streams.items()" in rtcp
    for field in ("stream.fraction_lost", "stream.packets_lost", "stream.max_seq", "stream.jitter"):
        assert field in rtcp, field
    assert hasattr(RTCRtpReceiver, "_send_rtcp_nack") and hasattr(RTCRtpReceiver, "_send_rtcp_pli")
    init = inspect.getsource(StreamStatistics.__init__)
    for field in ("self.base_seq", "self.max_seq", "self.cycles", "self._jitter_q4"):
        assert field in init, field


def test_receive_stats_agree_with_aiortcs_own() -> None:
    ours, theirs = aiortc_packets.ReceiveStats(90_000), StreamStatistics(90_000)
    # In order, a hole, a late packet, a wrap of the sequence numbers.
    for seq in (65_530, 65_531, 65_533, 65_532, 65_534, 65_535, 0, 3, 4):
        packet = RtpPacket(sequence_number=seq, timestamp=seq * 3000 & 0xFFFFFFFF)
        theirs.add(packet)
        ours.note(seq, packet.timestamp, 0.0)
    assert (ours.max_seq, ours.cycles, ours.packets_received, ours.packets_lost) == (
        theirs.max_seq,
        theirs.cycles,
        theirs.packets_received,
        theirs.packets_lost,
    )
    assert ours.fraction_lost == theirs.fraction_lost


def test_the_sender_still_keeps_what_a_leg_reads_and_writes() -> None:
    init = inspect.getsource(RTCRtpSender.__init__)
    for field in (
        "self.__rtp_header_extensions_map",
        "self.__rtx_payload_type",
        "self._rtx_ssrc",
        "self.__ntp_timestamp",
        "self.__rtp_timestamp",
        "self.__octet_count",
        "self.__packet_count",
        "self.__started",
    ):
        assert field in init, field
    assert "self.__mid = parameters.muxId" in inspect.getsource(RTCRtpSender.send)
    rtcp = inspect.getsource(RTCRtpSender._run_rtcp)
    assert "ntp_timestamp=self.__ntp_timestamp" in rtcp
    assert "packet_count=self.__packet_count" in rtcp


async def test_nothing_is_taken_before_a_transport_exists() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="sendonly")
    assert aiortc_packets.Leg.of(transceiver.sender, transceiver) is None
    assert aiortc_packets.datagrams_received(None) == 0
    await pc.close()
