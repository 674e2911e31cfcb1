"""Simulcast: the offer's layers accepted in aiortc's answer, layers told apart by RID
and a subscriber moved between them at key frames, and the choice of layer per leg."""

from __future__ import annotations

import fractions
import itertools

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from av.packet import Packet

from media import rtp, simulcast
from media.aiortc_packets import ReceiveStats
from media.publication import Publication
from media.simulcast import LayerChoice
from media.subscription import Subscription
from tests.media.test_forwarding import Leg
from tests.support.encoded import vp8_frames

#: The video section of a Chromium offer sending three layers (trimmed).
OFFER = """v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=mid:0\r
a=sendrecv\r
a=rtpmap:111 opus/48000/2\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
a=mid:1\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r
a=sendrecv\r
a=rtpmap:96 VP8/90000\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rid:l send\r
a=rid:m send\r
a=rid:h send\r
a=simulcast:send l;m;h\r
"""

ANSWER = """v=0\r
o=- 3 4 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=mid:0\r
a=rtpmap:111 opus/48000/2\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
a=mid:1\r
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=rtpmap:96 VP8/90000\r
"""

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
RID = 10


def test_the_offered_layers_are_read_and_accepted_in_the_answer() -> None:
    layers = simulcast.offered(OFFER)
    assert layers == {"1": simulcast.Offered(("l", "m", "h"), 10, 11)}
    answer = simulcast.accept(ANSWER, layers)
    video = answer.split("m=video")[1]
    for line in (
        "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        "a=rid:l recv",
        "a=rid:h recv",
        "a=simulcast:recv l;m;h",
    ):
        assert line + "\r\n" in video, line
    assert "rid" not in answer.split("m=video")[0], "the audio section is untouched"
    assert answer.endswith("\r\n")
    # No simulcast offered: the answer is aiortc's own.
    assert simulcast.offered(OFFER.replace("a=simulcast:send l;m;h\r\n", "")) == {}
    assert simulcast.accept(ANSWER, {}) == ANSWER


class Source:
    def abs_send_time_id(self) -> int:
        return 0

    def stats(self, ssrc: int, clock_rate: int) -> ReceiveStats:
        return ReceiveStats(clock_rate)

    def send_nack(self, ssrc: int, lost: list[int]) -> None:
        return None

    def send_pli(self, ssrc: int) -> None:
        self.plis.append(ssrc)

    def send_remb(self, bitrate: int, ssrcs: list[int]) -> bool:
        return True

    def __init__(self) -> None:
        self.codecs = {96: VP8}
        self.plis: list[int] = []


def layer_packets(rid: str, ssrc: int, width: int, height: int) -> list[list[bytes]]:
    """One layer's packets, frame by frame, each carrying its RID."""
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=RID, uri=simulcast.RID_URI)]
        )
    )
    encoder, seq, out = Vp8Encoder(), ssrc & 0xFFFF, []
    for index, frame in enumerate(vp8_frames(width=width, height=height, count=60, gop=30)):
        packet = Packet(frame.data)
        packet.pts, packet.time_base = index * 3000, fractions.Fraction(1, 90_000)
        payloads, _ = encoder.pack(packet)
        packets = []
        for i, payload in enumerate(payloads):
            rtp_packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=index * 3000)
            rtp_packet.ssrc, rtp_packet.payload = ssrc, payload
            rtp_packet.marker = int(i == len(payloads) - 1)
            rtp_packet.extensions.rtp_stream_id = rid
            packets.append(rtp_packet.serialize(extensions))
            seq = (seq + 1) & 0xFFFF
        out.append(packets)
    return out


async def test_a_subscriber_moves_between_layers_at_key_frames() -> None:
    source = Source()
    publication = Publication("video", source)
    publication.rids, publication.rid_ids = ("l", "h"), (RID, 0)
    low, high = layer_packets("l", 0x1111, 160, 120), layer_packets("h", 0x2222, 640, 480)
    subscription, leg = Subscription("video"), Leg()
    subscription._leg = leg  # type: ignore[assignment]
    subscription.wanted_rank = 0
    publication.add(subscription, rank=0)
    payloads = {0x1111: set(), 0x2222: set()}  # type: dict[int, set[bytes]]
    for index in range(60):
        for packets in (low[index], high[index]):
            for data in packets:
                ssrc = int.from_bytes(data[8:12], "big")
                payloads[ssrc].add(data[rtp.payload_offset(data, data[0]) :])
                publication.packet(data, 100 + index / 30)
        if index == 20:  # between key frames (0, 30): the move waits for the next one
            assert publication.choose(subscription, 1)
            moved_at = len(leg.sent_packets)
    assert [layer.rid for layer in publication.ranked()] == ["l", "h"]
    sent = leg.sent_packets
    before, after = sent[:moved_at], sent[moved_at:]
    assert all(p.payload in payloads[0x1111] for p in before)
    switch = next(i for i, p in enumerate(after) if p.payload in payloads[0x2222])
    assert all(p.payload in payloads[0x1111] for p in after[:switch])
    assert all(p.payload in payloads[0x2222] for p in after[switch:])
    assert rtp.vp8_keyframe_start(after[switch].payload), "it moved at a key frame"
    assert (moved_at + switch) > 0 and len(after) - switch > 50
    seqs = [p.sequence_number for p in sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs)), "no gap"
    stamps = [p.timestamp for p in sent]
    assert all((b - a) & 0xFFFFFFFF < 0x80000000 for a, b in itertools.pairwise(stamps))
    assert 0x2222 in source.plis, "the move asked the better layer for a key frame"
    assert {p.ssrc for p in sent} == {leg.ssrc}


def test_a_leg_gets_what_it_carries_and_tries_better_now_and_then() -> None:
    rates = [120_000, 1_200_000]
    first = simulcast.FIRST_TRY
    choice = LayerChoice()
    assert choice.update(rates, 3_000_000, 0.0) == 1, "a new leg starts on the best"
    assert choice.update(rates, 250_000, 1.0) == 0, "down at once"
    # On the low layer a receive-side estimate stays near 1.5 times what flows: it is
    # tried one up blindly, after a wait.
    assert choice.update(rates, 280_000, 1.0 + first - 0.5) == 0, "not before its wait"
    assert choice.update(rates, 280_000, 1.0 + first + 0.5) == 1, "tried one up"
    failed_at = 1.0 + first + 2
    assert choice.update(rates, 250_000, failed_at) == 0, "the try failed"
    assert choice.next_try == failed_at + 2 * first, "the next try waits twice as long"
    assert choice.update(rates, 280_000, failed_at + 2 * first - 0.5) == 0
    tried = failed_at + 2 * first + 0.5
    assert choice.update(rates, 280_000, tried) == 1
    # A try that holds: a later fall waits the first wait again.
    assert choice.update(rates, 2_000_000, tried + simulcast.TRY_SECONDS) == 1
    assert choice.wait == first
    # An estimate that covers the better layer moves up at once.
    assert LayerChoice(rank=0).update(rates, 2_000_000, 0.0) == 1
    # A layer that does not flow is never chosen.
    assert LayerChoice().update([120_000, 0], 5_000_000, 0.0) == 0
