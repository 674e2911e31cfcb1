"""The one module that reaches into aiortc's private parts (checked against 1.16.0).

aiortc has no public way to take encoded frames off a receiver, nor to see a sender's
keyframe requests and bandwidth estimates when it is fed pre-encoded packets. What we
rely on, all guarded by tests/media/test_aiortc_hook.py:

- ``RTCRtpReceiver._handle_rtp_packet`` hands each complete encoded frame (the jitter
  buffer's output) to ``self.__decoder_queue.put((codec, frame))``; the decoder thread
  started by ``receive()`` takes them with ``get()``. We put a tap in place of that
  queue *before* ``receive()``: frames come to us on the event loop, nothing is decoded,
  and the thread just waits for the stop signal (``put(None)``).
- ``RTCRtpReceiver.__jitter_buffer``: replaced by ``media.assembler.FrameAssembler``
  (same ``add`` contract), which hands out a frame as soon as it is complete, never a
  frame that references a lost one.
- ``RTCRtpReceiver.__remote_bitrate_estimator``: on video, replaced by an
  ``UplinkEstimate`` that runs aiortc's own receive-side (abs-send-time) estimator for
  what it measures, the publisher's uplink, but never lets the receiver send its REMB
  (``add`` returns None): the hub sends one REMB, the lower of the uplink and the
  weakest subscriber. None on audio.
- ``RTCRtpReceiver._send_rtcp_pli(ssrc)`` and ``._send_rtcp(packet)`` send feedback.
- ``RTCRtpSender._send_keyframe()`` is what a PLI/FIR from the remote calls, and
  ``RTCRtpSender._handle_rtcp_packet`` sees REMB and the receiver reports (loss on the
  subscriber's leg): we wrap both per instance.
- ``RTCRtpTransceiver._codecs``: the codecs ``setRemoteDescription`` negotiated, each a
  copy for this transceiver, whose format parameters the answer writes (Opus's
  ``useinbandfec=1``: aiortc's own Opus codec declares none), narrowed to the codecs we
  forward (aiortc's own ``filter_preferred_codecs``), as ``setCodecPreferences`` cannot
  once the offer is read.
- ``RTCDtlsTransport.__rx_packets``: the datagrams (RTP, RTCP, DTLS) a peer's transport
  has received, counted by aiortc for its stats; the hub reads it once a second to
  notice a silent peer, at no cost per packet.
- ``RTCPeerConnection.close()`` stops each transceiver's transport and assumes it has
  one; when it raises, it has already marked itself closing, and every later
  ``close()`` waits forever. ``close_peer_connection`` closes once, and if aiortc's
  close fails it stops what is left itself, down to ``RTCPeerConnection.__iceTransports``
  (the sockets).
- ``aiortc.clock.current_ms`` / ``current_ntp_time``: called for every packet sent and
  received, they do datetime arithmetic; ``install_fast_clock`` puts the same values
  computed from ``time.time()`` in their place (4% of a busy forwarder's time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiortc
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.jitterbuffer import JitterFrame
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcpeerconnection import filter_preferred_codecs
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media.assembler import FrameAssembler

log = logging.getLogger(__name__)

CHECKED_AIORTC_VERSIONS = ("1.16.0",)

FrameCallback = Callable[[RTCRtpCodecParameters, JitterFrame], None]


class HookError(RuntimeError):
    """aiortc is not in the state (or version) this module was written for."""


def check_version() -> None:
    if aiortc.__version__ not in CHECKED_AIORTC_VERSIONS:
        raise HookError(
            f"media/aiortc_hook.py was checked against aiortc {CHECKED_AIORTC_VERSIONS},"
            f" not {aiortc.__version__}: re-check it and its tests before upgrading"
        )


class FrameTap:
    """Stands in for a receiver's decoder queue."""

    def __init__(self, on_frame: FrameCallback, on_end: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_end = on_end
        self._stopped = threading.Event()

    # Called on the event loop by RTCRtpReceiver._handle_rtp_packet / __stop_decoder.
    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:
            if not self._stopped.is_set():
                self._stopped.set()
                self._on_end()
            return
        self._on_frame(item[0], item[1])

    # Called on the receiver's decoder thread: idle until stopped, then end it.
    def get(self, block: bool = True, timeout: float | None = None) -> None:
        self._stopped.wait()


class UplinkEstimate:
    """aiortc's receive-side bandwidth estimator on a publisher's video, silenced: its
    estimate (``bitrate``, bits/s, None until it has one) is read by the hub instead of
    being sent to the publisher as a REMB of its own."""

    def __init__(self) -> None:
        self._estimator = RemoteBitrateEstimator()
        self.bitrate: int | None = None

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int) -> None:
        found = self._estimator.add(
            arrival_time_ms=arrival_time_ms,
            abs_send_time=abs_send_time,
            payload_size=payload_size,
            ssrc=ssrc,
        )
        if found is not None:
            self.bitrate = found[0]


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_frame: FrameCallback,
    on_end: Callable[[], None],
    on_loss: Callable[[], None] | None = None,
    uplink: UplinkEstimate | None = None,
) -> FrameTap:
    """Route the receiver's encoded frames to ``on_frame``; call before it starts.

    ``on_loss`` is called when a video frame is lost for good (forwarding must then
    wait for the next keyframe). ``uplink`` (video) measures the publisher's uplink."""
    check_version()
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", "missing") is not None:
        raise HookError("tap_receiver must run before the receiver starts (decoder thread exists)")
    if not hasattr(receiver, "_RTCRtpReceiver__decoder_queue"):
        raise HookError("RTCRtpReceiver has no __decoder_queue")
    tap = FrameTap(on_frame, on_end)
    video = getattr(receiver, "_RTCRtpReceiver__kind") == "video"  # noqa: B009
    receiver._RTCRtpReceiver__decoder_queue = tap
    codecs = getattr(receiver, "_RTCRtpReceiver__codecs")  # noqa: B009  (filled by receive())
    receiver._RTCRtpReceiver__jitter_buffer = FrameAssembler(video, on_loss, codecs)  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__remote_bitrate_estimator = uplink if video else None  # type: ignore[attr-defined]
    return tap


def _spawn(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    return [source.source for source in receiver.getSynchronizationSources()]


def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the publisher behind ``receiver`` for a keyframe; False if it sent nothing yet."""
    ssrcs = media_ssrcs(receiver)
    for ssrc in ssrcs:
        _spawn(receiver._send_rtcp_pli(ssrc))
    return bool(ssrcs)


def send_remb(receiver: RTCRtpReceiver, bitrate: int, ssrcs: list[int] | None = None) -> bool:
    """Tell the publisher behind ``receiver`` to send at most ``bitrate`` bits/s (over
    ``ssrcs``; by default the sources it has heard)."""
    ssrcs = media_ssrcs(receiver) if ssrcs is None else ssrcs
    rtcp_ssrc = getattr(receiver, "_RTCRtpReceiver__rtcp_ssrc", None)
    if not ssrcs or rtcp_ssrc is None:
        return False
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
    )
    _spawn(receiver._send_rtcp(packet))
    return True


def watch_sender(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_remb: Callable[[int], None],
    on_loss: Callable[[float], None] | None = None,
    on_nack: Callable[[list[int]], None] | None = None,
) -> None:
    """Report the remote's PLI/FIR and REMB for this sender (pre-encoded packets path),
    the fraction of this sender's packets its receiver reports lost (0..1), and the
    sequence numbers it asks again (NACK; answered by ``on_nack`` instead of aiortc's
    own history, which a packet path never fills)."""
    check_version()
    original = sender._handle_rtcp_packet

    async def handle_rtcp_packet(packet: Any) -> None:
        if on_loss is not None and isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    on_loss(report.fraction_lost / 256)
        if on_nack is not None and isinstance(packet, RtcpRtpfbPacket):
            if packet.fmt == RTCP_RTPFB_NACK and packet.media_ssrc == sender._ssrc:
                on_nack(list(packet.lost))
            return
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                pass
            else:
                on_remb(bitrate)
                return
        await original(packet)

    sender._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]


#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_UNIX_OFFSET = 2_208_988_800


def narrow_answer_codecs(
    transceiver: aiortc.RTCRtpTransceiver, preferences: list[RTCRtpCodecCapability]
) -> bool:
    """Keep only ``preferences`` among the codecs negotiated from the offer, for the
    answer to name; call after setRemoteDescription, before createAnswer. False when
    nothing is left (the offer lacks every preferred codec).

    aiortc fixes a transceiver's codecs when it reads the offer, from the preferences
    set *before* that; an answering transceiver does not exist before the offer, so
    ``setCodecPreferences`` afterwards changes nothing and the answer kept every common
    codec in the offer's order (a browser preferring H.264 would send H.264)."""
    narrowed = filter_preferred_codecs(transceiver._codecs, preferences)
    if not any(c.mimeType.lower() != f"{transceiver.kind}/rtx" for c in narrowed):
        return False
    transceiver._codecs = narrowed
    transceiver._preferred_codecs = list(preferences)
    return True


def answer_codec_parameters(
    transceiver: aiortc.RTCRtpTransceiver, mime_type: str, parameters: dict[str, Any]
) -> None:
    """Add format parameters to a negotiated codec, for the answer to carry; call after
    setRemoteDescription, before createAnswer."""
    for codec in transceiver._codecs:
        if codec.mimeType.lower() == mime_type:
            codec.parameters.update(parameters)


def packets_received(pc: aiortc.RTCPeerConnection) -> int | None:
    """Datagrams ``pc``'s transport has received so far (None before negotiation).
    All transceivers share one transport (MAX_BUNDLE)."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None:
            count = getattr(dtls, "_RTCDtlsTransport__rx_packets", None)
            # The packet path (media.aiortc_packets) counts the media it takes itself.
            fast = getattr(dtls, "_consult_datagrams", None)
            extra = getattr(fast, "received", 0)
            return count + extra if isinstance(count, int) and isinstance(extra, int) else None
    return None


def has_transports(pc: aiortc.RTCPeerConnection) -> bool:
    """Whether every transceiver has the transports that sending, receiving and
    ``close()`` assume (an offer aiortc half understood can leave one without)."""
    return all(
        t.receiver.transport is not None and t.sender.transport is not None
        for t in pc.getTransceivers()
    )


async def close_peer_connection(pc: aiortc.RTCPeerConnection) -> None:
    """Close ``pc`` (call once per connection); never raises, never hangs on aiortc's
    half-closed state."""
    try:
        await pc.close()
        return
    except Exception as exc:  # aiortc met a transceiver without a transport: stop the rest
        log.debug("aiortc's close failed (%s); stopping the transports", type(exc).__name__)
    transports: list[Any] = []
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is not None:
            transports += [dtls, dtls.transport]
    transports += list(getattr(pc, "_RTCPeerConnection__iceTransports", ()))
    for transport in transports:
        with contextlib.suppress(Exception):
            await transport.stop()
    with contextlib.suppress(Exception):
        pc.remove_all_listeners()


def fast_current_ms() -> int:
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


def fast_current_ntp_time() -> int:
    now = time.time()
    seconds = int(now)
    return ((seconds + NTP_UNIX_OFFSET) << 32) | int((now - seconds) * 4_294_967_296)


def install_fast_clock() -> None:
    """Same clock values, without datetime objects on every packet."""
    check_version()
    clock.current_ms = fast_current_ms
    clock.current_ntp_time = fast_current_ntp_time
