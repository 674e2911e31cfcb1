"""Packet forwarding rules without a network: real VP8 packets (aiortc's own packetizer
on real encoded frames), a leg that keeps what it would send."""

from __future__ import annotations

import asyncio
import fractions
import itertools

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from av.packet import Packet

from media import rtp
from media.aiortc_packets import ReceiveStats
from media.forwarding import KeyframeRequester
from media.layer import CACHE_PACKETS
from media.publication import Publication
from media.subscription import Subscription
from tests.support.encoded import vp8_frames

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
RTX = RTCRtpCodecParameters(
    mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96}
)
SSRC = 0x1234


class Leg:
    """What a subscriber's connected sender offers (media.aiortc_packets.Leg), keeping
    the packets it is asked to send instead of protecting them onto a socket."""

    def __init__(self, rtx: bool = True) -> None:
        self.ssrc, self.rtx_ssrc = 0xAAAA, 0xBBBB
        self.payload_type, self.rtx_payload_type = 100, (101 if rtx else None)
        self.head, self.tail = rtp.extension_block(3, 9, "1")
        self.abs_send_time, self.first = True, 0x90
        self.sent_packets: list[RtpPacket] = []
        self.reports: list[tuple[int, int, int]] = []

    def send(self, packet: bytes) -> None:
        self.sent_packets.append(RtpPacket.parse(packet))

    def sent(self, rtp_timestamp: int, packets: int, octets: int, now: float) -> None:
        self.reports.append((rtp_timestamp, packets, octets))


class Source:
    """The publisher side's feedback, kept (media.aiortc_packets.Inbound)."""

    def __init__(self) -> None:
        self.codecs = {96: VP8, 97: RTX}
        self.nacks: list[list[int]] = []
        self.plis = 0

    def abs_send_time_id(self) -> int:
        return 3

    def stats(self, ssrc: int, clock_rate: int) -> ReceiveStats:
        return ReceiveStats(clock_rate)

    def send_nack(self, ssrc: int, lost: list[int]) -> None:
        self.nacks.append(lost)

    def send_pli(self, ssrc: int) -> None:
        self.plis += 1

    def send_remb(self, bitrate: int, ssrcs: list[int]) -> bool:
        return True


def packets(count: int = 60, gop: int = 30, start_seq: int = 65_500) -> list[bytes]:
    """Real VP8 frames (640x480, several packets each) as the publisher's RTP."""
    encoder = Vp8Encoder()
    out: list[bytes] = []
    seq = start_seq
    for index, frame in enumerate(vp8_frames(count=count, gop=gop, width=640, height=480)):
        packet = Packet(frame.data)
        packet.pts, packet.time_base = index * 3000, fractions.Fraction(1, 90_000)
        payloads, _ = encoder.pack(packet)
        for i, payload in enumerate(payloads):
            rtp_packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=index * 3000)
            rtp_packet.ssrc = SSRC
            rtp_packet.marker = int(i == len(payloads) - 1)
            rtp_packet.payload = payload
            out.append(rtp_packet.serialize())
            seq = (seq + 1) & 0xFFFF
    return out


def subscribed(publication: Publication, rtx: bool = True) -> tuple[Subscription, Leg]:
    subscription = Subscription("video")
    leg = Leg(rtx)
    subscription._leg = leg  # type: ignore[assignment]
    publication.add(subscription)
    return subscription, leg


def frames_of(sent: list[RtpPacket]) -> list[bytes]:
    out, parts = [], []
    for packet in sent:
        parts.append(packet.payload)
        if packet.marker:
            out.append(b"".join(parts))
            parts = []
    return out


async def test_a_subscriber_starts_at_a_key_frame_and_gets_the_payloads_unchanged() -> None:
    source = Source()
    publication = Publication("video", source)
    stream = packets(count=45, gop=30)
    # Join mid-picture: the first 40 packets are a key frame and deltas.
    for data in stream[:40]:
        publication.packet(data, 0.0)
    subscription, leg = subscribed(publication)
    assert source.plis == 1, "joining asks the publisher for a key frame"
    for data in stream[40:]:
        publication.packet(data, 0.0)
    got = leg.sent_packets
    first_key = next(i for i, d in enumerate(stream) if i >= 40 and _key(d))
    assert len(got) == len(stream) - first_key, "from the next key frame on, every packet"
    assert rtp.vp8_keyframe_start(got[0].payload)
    assert [p.payload for p in got] == [RtpPacket.parse(d).payload for d in stream[first_key:]]
    assert {p.ssrc for p in got} == {leg.ssrc} and {p.payload_type for p in got} == {100}
    seqs = [p.sequence_number for p in got]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    originals = [RtpPacket.parse(d) for d in stream[first_key:]]
    assert [(p.timestamp - got[0].timestamp) & 0xFFFFFFFF for p in got] == [
        (o.timestamp - originals[0].timestamp) & 0xFFFFFFFF for o in originals
    ]
    assert [p.marker for p in got] == [o.marker for o in originals]
    assert subscription.dropped >= 1, "the frames before the key frame were skipped"
    assert publication.requester.throttled >= 1, "each skipped frame asked again"
    # The sender's reports follow what went out.
    assert leg.reports[-1][1] == len(got)


def _key(data: bytes) -> bool:
    return rtp.vp8_keyframe_start(data, rtp.payload_offset(data, data[0]))


async def test_a_new_source_continues_sequence_numbers_and_time() -> None:
    source = Source()
    first, second = Publication("video", source), Publication("video", source)
    subscription, leg = subscribed(first)
    for data in packets(count=10):
        first.packet(data, 100.0)
    count = len(leg.sent_packets)
    last = leg.sent_packets[-1]
    first.remove(subscription)
    second.add(subscription)
    for data in packets(count=10, start_seq=7):
        second.packet(data, 100.5)
    after = leg.sent_packets[-1]
    resumed = leg.sent_packets[count]
    assert rtp.vp8_keyframe_start(resumed.payload)
    assert resumed.sequence_number == (last.sequence_number + 1) & 0xFFFF
    step = (resumed.timestamp - last.timestamp) & 0xFFFFFFFF
    assert 0.45 * 90_000 <= step <= 0.55 * 90_000, "the timeline moved on by the time between"
    assert after.ssrc == last.ssrc


async def test_a_nack_is_answered_from_the_cache_as_rtx_or_plain() -> None:
    for rtx in (True, False):
        publication = Publication("video", Source())
        subscription, leg = subscribed(publication, rtx=rtx)
        stream = packets(count=30)
        for data in stream:
            publication.packet(data, 0.0)
        wanted = leg.sent_packets[5]
        count = len(leg.sent_packets)
        never = (wanted.sequence_number + 40_000) & 0xFFFF
        subscription.retransmit([wanted.sequence_number, never])
        resent = leg.sent_packets[count:]
        assert len(resent) == 1, "a sequence number never sent is not answered"
        packet = resent[0]
        if rtx:
            assert (packet.ssrc, packet.payload_type) == (leg.rtx_ssrc, 101)
            assert int.from_bytes(packet.payload[:2], "big") == wanted.sequence_number
            assert packet.payload[2:] == wanted.payload
        else:
            assert (packet.ssrc, packet.sequence_number) == (leg.ssrc, wanted.sequence_number)
            assert packet.payload == wanted.payload
        assert packet.timestamp == wanted.timestamp
        assert subscription.resent == 1


async def test_a_hole_upstream_is_asked_again_and_the_resend_fills_it() -> None:
    source = Source()
    publication = Publication("video", source)
    _, leg = subscribed(publication)
    stream = packets(count=20)
    lost = 12
    for index, data in enumerate(stream):
        if index != lost:
            publication.packet(data, 0.0)
    original = RtpPacket.parse(stream[lost])
    assert source.nacks and source.nacks[0] == [original.sequence_number]
    # The publisher resends it as RTX (RFC 4588), once, then once more (a duplicate).
    resend = RtpPacket(payload_type=97, sequence_number=500, timestamp=original.timestamp)
    resend.ssrc, resend.marker = 0x9999, original.marker
    resend.payload = original.sequence_number.to_bytes(2, "big") + original.payload
    before = len(leg.sent_packets)
    publication.packet(resend.serialize(), 0.0)
    publication.packet(resend.serialize(), 0.0)
    filled = leg.sent_packets[before:]
    assert len(filled) == 1 and filled[0].payload == original.payload
    neighbours = {p.sequence_number for p in leg.sent_packets[:before]}
    assert (filled[0].sequence_number - 1) & 0xFFFF in neighbours
    assert (filled[0].sequence_number + 1) & 0xFFFF in neighbours, "it fills the hole"
    layer = publication.top()
    assert layer is not None and layer.resend is not None and layer.resend.recovered == 1
    # A padding-only RTX packet (a bandwidth probe) is not forwarded.
    probe = RtpPacket(payload_type=97, sequence_number=501, timestamp=original.timestamp)
    probe.ssrc, probe.padding_size = 0x9999, 200
    publication.packet(probe.serialize(), 0.0)
    assert len(leg.sent_packets) == before + 1
    publication.close()


async def test_the_cache_is_bounded() -> None:
    publication = Publication("video", Source())
    stream = []
    for seq in range(1500):
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq // 5 * 3000)
        packet.ssrc, packet.payload = SSRC, bytes([0x10]) + seq.to_bytes(2, "big") * 50
        stream.append(packet.serialize())
    for data in stream:
        publication.packet(data, 0.0)
    assert len(stream) > CACHE_PACKETS
    layer = publication.top()
    assert layer is not None
    held = [d for d in layer.cache if d is not None]
    assert len(held) == CACHE_PACKETS
    oldest = RtpPacket.parse(stream[0]).sequence_number
    assert layer.cached(oldest) is None
    newest = RtpPacket.parse(stream[-1]).sequence_number
    assert layer.cached(newest) == stream[-1]
    publication.close()


async def test_keyframe_requests_are_throttled_but_never_lost() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    def send() -> bool:
        sent.append(loop.time())
        return True

    requester = KeyframeRequester(send, interval=0.2)
    for _ in range(20):
        requester.request()
    assert len(sent) == 1 and requester.throttled == 19
    await asyncio.sleep(0.25)
    assert len(sent) == 2, "a request inside the window is sent when it ends"
    assert sent[1] - sent[0] >= 0.19
    requester.close()


async def test_a_recorded_publication_hands_whole_frames_to_its_sinks() -> None:
    publication = Publication("video", Source())
    kept: list[tuple[bytes, int, bool]] = []
    publication.sinks.append(lambda data, ts, key: kept.append((data, ts, key)))
    frames = vp8_frames(count=40, gop=30, width=640, height=480)
    for data in packets(count=40, gop=30):
        publication.packet(data, 0.0)
    assert [k[0] for k in kept] == [f.data for f in frames]
    assert [k[2] for k in kept] == [f.keyframe for f in frames] and kept[0][2]
    assert [k[1] - kept[0][1] for k in kept] == [i * 3000 for i in range(40)]
