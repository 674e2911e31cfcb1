"""Two real aiortc peers through the media hub: each sees and hears the other."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from media import hub as hub_module
from media.errors import MediaError
from media.hub import MediaHub
from tests.support.peers import ClientPeer, Colour, near

RED: Colour = (220, 40, 40)
BLUE: Colour = (40, 40, 220)
CLINICIAN, SPECIALIST = 1, 2


async def wait_until(check: object, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def offer_both(hub: MediaHub, clinician: ClientPeer, specialist: ClientPeer) -> None:
    """Both peers into "consult:7", each receiving the other."""
    await clinician.accept(
        await hub.handle_offer("consult:7", CLINICIAN, await clinician.offer(), [SPECIALIST])
    )
    await specialist.accept(
        await hub.handle_offer("consult:7", SPECIALIST, await specialist.offer(), [CLINICIAN])
    )


async def test_each_peer_receives_the_others_frames_and_audio(hub: MediaHub) -> None:
    clinician, specialist = ClientPeer(RED), ClientPeer(BLUE)
    try:
        await offer_both(hub, clinician, specialist)
        await wait_until(
            lambda: near(clinician.centre_colour(), BLUE) and near(specialist.centre_colour(), RED)
        )
        await wait_until(
            lambda: clinician.received.audio_frames > 10 and specialist.received.audio_frames > 10
        )
        assert hub.stats() == {"rooms": 1, "peers": 2}

        # A reconnect (new offer from the same participant) replaces the old peer and
        # media flows again without the other side renegotiating.
        await clinician.close()
        clinician = ClientPeer((40, 200, 40))
        await clinician.accept(
            await hub.handle_offer("consult:7", CLINICIAN, await clinician.offer(), [SPECIALIST])
        )
        await wait_until(lambda: near(specialist.centre_colour(), (40, 200, 40)))
        await wait_until(lambda: near(clinician.centre_colour(), BLUE))
        assert hub.stats() == {"rooms": 1, "peers": 2}
    finally:
        await clinician.close()
        await specialist.close()
    await hub.close_room("consult:7")
    assert hub.stats() == {"rooms": 0, "peers": 0}


@pytest.mark.parametrize("sdp", ["", "v=0\r\nnonsense", "x" * 70_000])
async def test_a_malformed_offer_is_refused_and_leaves_no_room(hub: MediaHub, sdp: str) -> None:
    with pytest.raises(MediaError) as info:
        await hub.handle_offer("consult:8", CLINICIAN, sdp, [SPECIALIST])
    assert info.value.code == "bad_sdp"
    assert hub.stats() == {"rooms": 0, "peers": 0}


async def test_a_silent_peer_is_reported_lost_then_live_and_a_failed_one_lost(
    hub: MediaHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub watches its peers: nothing heard for SILENT_AFTER seconds (here 1.5)
    is a lost link; packets again bring it back; a failed connection is lost."""
    monkeypatch.setattr(hub_module, "SILENT_AFTER", 1.5)
    reports: list[tuple[str, int, str, str]] = []
    hub.on_peer_state = lambda *report: reports.append(report)
    clinician, specialist = ClientPeer(RED), ClientPeer(BLUE)
    try:
        await offer_both(hub, clinician, specialist)
        await wait_until(lambda: near(specialist.centre_colour(), RED))
        # The server stops hearing the clinician (its socket paused: the packets wait
        # in the kernel as they would in a cut link's queue).
        room = hub.room("consult:7")
        assert room is not None
        dtls = room.peers[CLINICIAN].pc.getTransceivers()[0].receiver.transport
        connection = dtls.transport._connection  # the peer's aioice connection
        # (the selector loop's datagram transports can pause reading)
        sockets: list[Any] = [p.transport for p in connection._protocols]
        for transport in sockets:
            transport.pause_reading()
        await wait_until(lambda: len(reports) == 1, within=10)
        assert reports == [("consult:7", CLINICIAN, "lost", "media_silent")]
        for transport in sockets:
            transport.resume_reading()
        await wait_until(lambda: len(reports) == 2, within=10)
        assert reports[1] == ("consult:7", CLINICIAN, "live", "media_back")
        # The specialist's browser goes away for good (its peer closes): failed, lost.
        await specialist.close()
        await wait_until(lambda: len(reports) == 3, within=45)
        assert reports[2][1:3] == (SPECIALIST, "lost")
    finally:
        await clinician.close()
        await specialist.close()


async def test_the_answer_lets_the_browser_protect_opus_with_in_band_fec(hub: MediaHub) -> None:
    peer = ClientPeer(RED)
    try:
        answer = await hub.handle_offer("consult:7", CLINICIAN, await peer.offer(), [])
        opus = re.search(r"a=rtpmap:(\d+) opus/48000/2", answer)
        assert opus is not None
        fmtp = re.search(rf"a=fmtp:{opus.group(1)} (.*)", answer)
        assert fmtp is not None and "useinbandfec=1" in fmtp.group(1), answer
    finally:
        await peer.close()


async def h264_first_offer(only_h264: bool = False) -> tuple[RTCPeerConnection, str]:
    """An offer like Safari's: H.264 listed before VP8 (or H.264 alone)."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio")
    video = pc.addTransceiver("video")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    h264 = [c for c in codecs if c.mimeType == "video/H264"]
    rest = [] if only_h264 else [c for c in codecs if c.mimeType != "video/H264"]
    video.setCodecPreferences(h264 + rest)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_the_answer_names_only_the_configured_video_codec(hub: MediaHub) -> None:
    # Forwarding never transcodes and the recorder writes VP8: a browser that prefers
    # H.264 must be answered VP8 only, or it sends what the others cannot decode.
    pc, offer = await h264_first_offer()
    try:
        answer = await hub.handle_offer("consult:7", CLINICIAN, offer, [])
        video = answer.split("m=video", 1)[1]
        names = re.findall(r"a=rtpmap:\d+ ([\w-]+)/", video)
        assert names and set(names) <= {"VP8", "rtx"}, names
        assert names[0] == "VP8"
        audio = answer.split("m=audio", 1)[1].split("m=video", 1)[0]
        assert set(re.findall(r"a=rtpmap:\d+ ([\w-]+)/", audio)) == {"opus"}
    finally:
        await pc.close()


async def test_an_offer_without_the_configured_codec_is_refused_clearly(hub: MediaHub) -> None:
    pc, offer = await h264_first_offer(only_h264=True)
    try:
        with pytest.raises(MediaError) as refused:
            await hub.handle_offer("consult:7", CLINICIAN, offer, [])
        assert refused.value.code == "bad_sdp"
        assert "VP8" in str(refused.value)
        assert hub.room("consult:7") is None
        # A participant already in keeps their peer: the bad offer changes nothing.
        good = ClientPeer(RED)
        try:
            await hub.handle_offer("consult:7", CLINICIAN, await good.offer(), [])
            room = hub.room("consult:7")
            assert room is not None
            before = room.peers[CLINICIAN]
            with pytest.raises(MediaError):
                await hub.handle_offer("consult:7", CLINICIAN, offer, [])
            assert room.peers[CLINICIAN] is before
        finally:
            await good.close()
    finally:
        await pc.close()


async def test_a_rebuilt_connection_that_replaced_a_lost_one_is_reported_live(
    hub: MediaHub,
) -> None:
    """The page closes its dead connection (the server sees it closed: lost) and offers
    a new one; once the new one carries media the participant is live again."""
    reports: list[tuple[str, int, str, str]] = []
    hub.on_peer_state = lambda *report: reports.append(report)
    clinician, specialist = ClientPeer(RED), ClientPeer(BLUE)
    rebuilt = ClientPeer(RED)
    try:
        await offer_both(hub, clinician, specialist)
        await wait_until(lambda: near(specialist.centre_colour(), RED))
        await clinician.close()
        await wait_until(lambda: len(reports) == 1, within=45)
        assert reports[0][1:3] == (CLINICIAN, "lost")
        answer = await hub.handle_offer("consult:7", CLINICIAN, await rebuilt.offer(), [SPECIALIST])
        await rebuilt.accept(answer)
        await wait_until(lambda: len(reports) == 2, within=10)
        assert reports[1][1:3] == (CLINICIAN, "live")
    finally:
        await clinician.close()
        await specialist.close()
        await rebuilt.close()
