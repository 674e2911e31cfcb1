"""aiortc's private parts that the packet path uses (checked against aiortc 1.16.0 and
aioice 0.13.0, like ``media.aiortc_hook``; guarded by tests/media/test_aiortc_packets.py).

The server forwards RTP as packets, never through aiortc's per-packet machinery (frame
assembly, re-packetization, a queue hop and a task wake-up per datagram):

- ``aioice.Connection.data_received`` (replaced per instance once DTLS is up): an
  SRTP/SRTCP datagram is unprotected with ``RTCDtlsTransport._rx_srtp`` and handed on
  at once instead of being queued for the transport's ``_recv_next`` task. RTP goes to
  the handler of its SSRC (learned once through aiortc's ``_rtp_router``); SRTCP to
  aiortc's own ``_handle_rtcp_data``. DTLS and STUN take aiortc's way as before.
- ``RTCRtpReceiver`` (``Inbound``): its ``_handle_rtp_packet`` no longer runs. It keeps
  its RTCP task, whose receiver reports read ``__remote_streams`` (fed by
  ``ReceiveStats``); NACK, PLI and REMB go out through its ``_send_rtcp*`` methods
  with its ``__rtcp_ssrc``; ``__codecs`` names the payload types (and RTX's ``apt``).
- ``RTCRtpSender`` (``Leg``): its ``_run_rtp`` waits on a track that never yields; a
  leg writes the packets itself with the sender's ``_ssrc``, ``_rtx_ssrc``,
  ``__rtx_payload_type``, ``__mid`` and ``__rtp_header_extensions_map``, the
  transport's ``_tx_srtp`` and the nominated ``aioice`` pair's socket, and keeps the
  fields of the sender's reports (``__ntp_timestamp``, ``__rtp_timestamp``,
  ``__packet_count``, ``__octet_count``) current.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from media import rtp
from media.aiortc_hook import NTP_UNIX_OFFSET, check_version, send_remb

#: (plain RTP packet, arrival in Unix seconds): one publisher stream's packets.
PacketHandler = Callable[[bytes, float], None]


def _spawn(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _ids(extensions_map: Any) -> Any:
    return getattr(extensions_map, "_HeaderExtensionsMap__ids")  # noqa: B009


class Datagrams:
    """One peer connection's datagrams, its media taken straight off the socket.

    All of a peer's transceivers share one DTLS transport (MAX_BUNDLE); ``of`` finds
    or makes the one of a transport, installed as soon as DTLS is connected."""

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._by_ssrc: dict[int, PacketHandler] = {}
        self._by_receiver: dict[RTCRtpReceiver, PacketHandler] = {}
        #: Media datagrams taken here (aiortc counts the others).
        self.received = 0
        self.installed = False

        # What aiortc's own loop still unprotects (datagrams queued before the packet
        # path was installed: often the first key frame) comes here too.
        async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
            self._deliver(data)

        dtls._handle_rtp_data = handle_rtp_data  # type: ignore[method-assign]
        if dtls.state == "connected":
            self._install()
        else:
            dtls.on("statechange", self._on_state)

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> Datagrams:
        found = getattr(dtls, "_consult_datagrams", None)
        if isinstance(found, Datagrams):
            return found
        made = cls(dtls)
        dtls._consult_datagrams = made  # type: ignore[attr-defined]
        return made

    def route(self, receiver: RTCRtpReceiver, handler: PacketHandler) -> None:
        """Hand ``receiver``'s packets (every SSRC aiortc routes to it) to ``handler``."""
        self._by_receiver[receiver] = handler
        for ssrc, known in list(self._by_ssrc.items()):
            if known is not handler:
                del self._by_ssrc[ssrc]  # learned again on its next packet

    def _on_state(self) -> None:
        if self._dtls.state == "connected" and not self.installed:
            self._install()

    def _install(self) -> None:
        check_version()
        connection: aioice.ice.Connection = self._dtls.transport._connection
        queue = connection.data_received
        rx = self._dtls._rx_srtp
        dtls = self._dtls
        deliver = self._deliver

        def data_received(data: bytes, component: int) -> None:
            if not (data and 127 < data[0] < 192):
                queue(data, component)
                return
            self.received += 1
            try:
                if len(data) > 1 and 191 < data[1] < 209:  # RTCP (RFC 5761)
                    _spawn(dtls._handle_rtcp_data(rx.unprotect_rtcp(data)))
                    return
                plain = rx.unprotect(data)
            except pylibsrtp.Error:
                return
            deliver(plain)

        connection.data_received = data_received  # type: ignore[method-assign]
        self.installed = True

    def _deliver(self, plain: bytes) -> None:
        """A plain RTP packet to the handler of its SSRC (learned on its first)."""
        if len(plain) < 12:
            return
        handler = self._by_ssrc.get(int.from_bytes(plain[8:12])) or self._learn(plain)
        if handler is not None:
            handler(plain, time.time())

    def _learn(self, plain: bytes) -> PacketHandler | None:
        try:
            packet = RtpPacket.parse(plain, self._dtls._rtp_header_extensions_map)
        except ValueError:
            return None
        receiver = self._dtls._rtp_router.route_rtp(packet)
        handler = self._by_receiver.get(receiver) if receiver is not None else None  # type: ignore[call-overload]
        if handler is not None:
            self._by_ssrc[packet.ssrc] = handler
        return handler


def datagrams_received(dtls: RTCDtlsTransport | None) -> int:
    """Media datagrams the packet path took from ``dtls`` (0 before it is installed)."""
    found = getattr(dtls, "_consult_datagrams", None)
    return found.received if isinstance(found, Datagrams) else 0


class ReceiveStats(StreamStatistics):
    """aiortc's ``StreamStatistics`` (what the receiver's reports say), fed with a
    packet's fields instead of a parsed packet."""

    def note(self, seq: int, timestamp: int, arrival: float) -> None:
        max_seq = self.max_seq
        self.packets_received += 1
        if max_seq is None:
            self.base_seq = seq
        elif ((seq - max_seq) & 0xFFFF) >= 0x8000 or seq == max_seq:
            return
        elif seq < max_seq:
            self.cycles += 1 << 16
        self.max_seq = seq
        arrived = int(arrival * self._clockrate)
        last = self._last_timestamp
        if last is not None and self._last_arrival is not None and timestamp != last:
            diff = abs((arrived - self._last_arrival) - (timestamp - last))
            self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)
        self._last_arrival = arrived
        self._last_timestamp = timestamp


class Inbound:
    """A publisher's track as the packet path takes it: aiortc's receiver kept for its
    RTCP (reports, feedback), its packets handed to a handler instead."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        check_version()
        self.receiver = receiver

        async def ignored(packet: Any, arrival_time_ms: int) -> None:
            return None

        receiver._handle_rtp_packet = ignored  # type: ignore[method-assign]

    @property
    def codecs(self) -> dict[int, RTCRtpCodecParameters]:
        """Payload type -> codec, as negotiated (filled when the receiver starts)."""
        found: dict[int, RTCRtpCodecParameters] = getattr(self.receiver, "_RTCRtpReceiver__codecs")  # noqa: B009
        return found

    def abs_send_time_id(self) -> int:
        dtls = self.receiver.transport
        if dtls is None:
            return 0
        return int(_ids(dtls._rtp_header_extensions_map).abs_send_time or 0)

    def route(self, handler: PacketHandler) -> bool:
        """Send this receiver's packets to ``handler``; False without a transport."""
        dtls = self.receiver.transport
        if dtls is None:
            return False
        Datagrams.of(dtls).route(self.receiver, handler)
        return True

    def stats(self, ssrc: int, clock_rate: int) -> ReceiveStats:
        """The statistics the receiver's reports give for ``ssrc``."""
        streams: dict[int, Any] = getattr(self.receiver, "_RTCRtpReceiver__remote_streams")  # noqa: B009
        found = streams.get(ssrc)
        if not isinstance(found, ReceiveStats):
            found = ReceiveStats(clock_rate)
            streams[ssrc] = found
        return found

    def send_nack(self, ssrc: int, lost: list[int]) -> None:
        _spawn(self.receiver._send_rtcp_nack(ssrc, lost))

    def send_pli(self, ssrc: int) -> None:
        _spawn(self.receiver._send_rtcp_pli(ssrc))

    def send_remb(self, bitrate: int, ssrcs: list[int]) -> bool:
        return send_remb(self.receiver, bitrate, ssrcs)


class Leg:
    """What a subscriber's sender needs to write packets itself (made once its
    transport is connected: ``Leg.of`` is None before)."""

    __slots__ = (
        "_connection",
        "_sender",
        "abs_send_time",
        "first",
        "head",
        "payload_type",
        "protect",
        "rtx_payload_type",
        "rtx_ssrc",
        "ssrc",
        "tail",
    )

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        dtls = sender.transport
        self._sender = sender
        self.ssrc: int = sender._ssrc
        self.rtx_ssrc: int = sender._rtx_ssrc
        self.payload_type = payload_type
        self.rtx_payload_type: int | None = getattr(sender, "_RTCRtpSender__rtx_payload_type")  # noqa: B009
        extensions_map = getattr(sender, "_RTCRtpSender__rtp_header_extensions_map")  # noqa: B009
        ids = _ids(extensions_map)
        mid: str | None = getattr(sender, "_RTCRtpSender__mid")  # noqa: B009
        self.head, self.tail = rtp.extension_block(ids.abs_send_time or 0, ids.mid or 0, mid)
        self.abs_send_time = bool(ids.abs_send_time)
        #: The first header byte's fixed bits: version 2, and X when extensions go out.
        self.first = 0x90 if self.head else 0x80
        self.protect: Callable[[bytes], bytes] = dtls._tx_srtp.protect
        self._connection: aioice.ice.Connection = dtls.transport._connection

    @classmethod
    def of(cls, sender: RTCRtpSender, transceiver: RTCRtpTransceiver | None) -> Leg | None:
        check_version()
        dtls = sender.transport
        if (
            dtls is None
            or dtls.state != "connected"
            or dtls._tx_srtp is None
            or not getattr(sender, "_RTCRtpSender__started", False)
        ):
            return None
        codecs = transceiver._codecs if transceiver is not None else []
        primary = [c for c in codecs if c.name.lower() != "rtx"]
        if not primary:
            return None
        payload_type = primary[0].payloadType
        return None if payload_type is None else cls(sender, payload_type)

    def send(self, packet: bytes) -> None:
        """Protect and send one RTP packet (silently dropped once the pair is gone)."""
        pair = self._connection._nominated.get(1)
        if pair is None:
            return
        data = self.protect(packet)
        protocol = pair.protocol
        if type(protocol) is aioice.ice.StunProtocol:
            transport = protocol.transport
            if transport is not None:
                transport.sendto(data, pair.remote_addr)
        else:  # a TURN allocation: its own coroutine
            _spawn(protocol.send_data(data, pair.remote_addr))

    def sent(self, rtp_timestamp: int, packets: int, octets: int, now: float) -> None:
        """Keep the sender's reports true to what this leg sent."""
        sender = self._sender
        seconds = int(now)
        sender._RTCRtpSender__ntp_timestamp = ((seconds + NTP_UNIX_OFFSET) << 32) | int(  # type: ignore[attr-defined]
            (now - seconds) * 4_294_967_296
        )
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
        sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]
