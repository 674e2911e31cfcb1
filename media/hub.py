"""Rooms of aiortc peers: one ``RTCPeerConnection`` per participant, media forwarded.

A participant either publishes (camera + microphone) or only receives (a teaching
session's viewers). Each peer receives, in a fixed order, the publishers it is told to
(``receive_from``): the browser offers one audio and one video transceiver per such
publisher, the first pair also carrying its own media. Nothing is decoded or encoded:
``aiortc_hook`` taps encoded frames off each receiver, ``forwarding`` fans them out.

A participant who reconnects sends a fresh offer: the old peer is closed and the others'
subscriptions move to the new publication (starting at a keyframe), so nobody else has
to renegotiate. The publisher's bitrate is capped by REMB at the lower of its own
uplink (aiortc's receive-side estimator, measured here) and its weakest subscriber's
leg (that subscriber's REMB, less the loss its receiver reports), within the configured
floor and ceiling; it starts low and ramps up.

Every second the hub also looks at each connected peer: one whose connection failed
(consent expired, DTLS gone, closed by the browser) or that has sent nothing at all for
``SILENT_AFTER`` seconds (a browser sends audio and RTCP continuously, muted or not) is
reported lost through ``on_peer_state``, and reported live again if its packets resume.
The peer itself is kept: the link may come back, or the browser sends a new offer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media import aiortc_hook, aiortc_packets, simulcast
from media.candidates import MAX_REMOTE_CANDIDATES, CandidatePolicy
from media.errors import MediaError
from media.offer_screen import candidate_refusal, read_candidate, screen_offer
from media.publication import Publication
from media.subscription import Subscription
from recordings.files import recording_path
from recordings.writer import RecordingWriter

log = logging.getLogger(__name__)

REMB_INTERVAL = 1.0
#: Seconds without a single datagram from a connected peer before it is reported lost.
SILENT_AFTER = 5.0
#: Opus format parameters in our answers (RFC 7587).
OPUS_PARAMETERS = {"minptime": 10, "useinbandfec": 1}
#: A subscriber leg's capacity until its browser sends an estimate (a new or rebuilt
#: peer): low, so a call does not open by flooding a slow link (an Edge-class link
#: carries ~240 kbit/s, audio included).
START_BITRATE = 150_000
#: The cap rises at most this much per second (it falls at once).
RAMP_PER_SECOND = 1.15
#: A simulcast publisher's cap is the ceiling (its best layer) and this for the other
#: (web/static/js/negotiation.js: 150 kbit/s).
SIMULCAST_LOWER_LAYERS = 150_000
#: Loss a subscriber's receiver reports on its leg above which its estimate is cut by
#: half the loss (the loss-based rule of Google's congestion control).
LOSS_TOLERATED = 0.10

#: (room, user, "lost" | "live", reason): told when a peer's link dies or comes back.
PeerStateCallback = Callable[[str, int, str, str], None]


@dataclass(frozen=True)
class MediaSettings:
    ice_servers: tuple[str, ...] = ()
    #: "VP8" or "H264": every leg of every room negotiates this one codec.
    video_codec: str = "VP8"
    bitrate_floor: int = 150_000
    bitrate_ceiling: int = 1_500_000


@dataclass
class Peer:
    user_id: int
    pc: RTCPeerConnection
    publishes: bool
    #: Its publications by (publisher, kind): its own id, or for a relay the
    #: publishers it brings.
    publications: dict[tuple[int, str], Publication] = field(default_factory=dict)
    #: What this peer receives: one subscription per (publisher, kind).
    subscriptions: dict[tuple[int, str], Subscription] = field(default_factory=dict)
    #: Latest REMB this peer's browser reported per publisher's video, bits/s.
    remb: dict[int, int] = field(default_factory=dict)
    #: Latest fraction of each publisher's video this peer reports lost on its leg.
    loss: dict[int, float] = field(default_factory=dict)
    #: The receive-side estimate of this peer's own uplink (its published video).
    uplink: aiortc_hook.UplinkEstimate | None = None
    #: Reported lost (failed or silent) and not live again since.
    lost: bool = False
    #: The REMB cap last sent to this publisher, bits/s (None: none yet).
    sent_cap: int | None = None
    #: Datagrams received by the peer's transport at the last look, and since when
    #: that count has not moved.
    heard_packets: int = -1
    heard_at: float = field(default_factory=time.monotonic)
    #: Distinct remote candidates handed to ICE (offer and trickle).
    candidates: int = 0
    #: Whether ICE was told that no more candidates come (only after one was usable:
    #: with none, the browser's checks are its candidates, learned peer-reflexive).
    candidates_ended: bool = False
    #: A relay from the room's origin node (``relay_offer``): the publishers whose
    #: audio and video it brings, in the order of its transceivers of each kind.
    relays: tuple[int, ...] = ()
    #: The simulcast its offer sends, by mid; and which layer of each publisher's
    #: simulcast video it gets.
    sends_layers: dict[str, simulcast.Offered] = field(default_factory=dict)
    layer_choices: dict[int, simulcast.LayerChoice] = field(default_factory=dict)


@dataclass
class MediaRoom:
    room_id: str
    peers: dict[int, Peer] = field(default_factory=dict)
    publications: dict[tuple[int, str], Publication] = field(default_factory=dict)
    #: While recording: where, and one stream-copy writer per publishing participant.
    recording_dir: Path | None = None
    recorders: dict[int, RecordingWriter] = field(default_factory=dict)
    recording_origin: float = 0.0
    #: Told (on the event loop) when a participant's first frame is in its file.
    on_recorded: Callable[[int], None] | None = None


def _leg_estimate(remb: int, loss: float) -> int:
    """A subscriber leg's capacity: its REMB, cut by half the loss above the tolerance."""
    return int(remb * (1 - 0.5 * loss)) if loss > LOSS_TOLERATED else remb


def _codec_preferences(kind: str, video_codec: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    if kind == "audio":
        return [c for c in capabilities if c.mimeType.lower() == "audio/opus"]
    wanted = f"video/{video_codec}".lower()
    chosen = [c for c in capabilities if c.mimeType.lower() == wanted]
    if video_codec.upper() == "H264":
        # One profile for every leg: the constrained baseline browsers all offer.
        chosen = [c for c in chosen if c.parameters.get("profile-level-id") == "42e01f"][:1]
    return chosen[:1] + [c for c in capabilities if c.mimeType.lower() == "video/rtx"]


class MediaHub:
    def __init__(
        self, settings: MediaSettings | None = None, candidates: CandidatePolicy | None = None
    ) -> None:
        self.settings = settings or MediaSettings()
        self._rooms: dict[str, MediaRoom] = {}
        self._ice = [RTCIceServer(urls=url) for url in self.settings.ice_servers]
        self.candidates = candidates or CandidatePolicy()
        self._remb_task: asyncio.Task[None] | None = None
        #: Set by the signaling edge: told when a peer's link is lost or comes back.
        self.on_peer_state: PeerStateCallback | None = None
        #: Told (room, reason) when a relay from a room's origin node is lost.
        self.on_relay_lost: Callable[[str, str], None] | None = None

    def room(self, room_id: str) -> MediaRoom | None:
        return self._rooms.get(room_id)

    # -- negotiation -----------------------------------------------------------------

    async def handle_offer(
        self,
        room_id: str,
        user_id: int,
        sdp: str,
        receive_from: Sequence[int],
        publish: bool = True,
    ) -> str:
        """Build this participant's peer from the browser's offer; return the answer.

        A refused offer (MediaError) changes nothing: the room, and the participant's
        previous peer if any, are as they were. The new peer replaces the old one only
        once its answer exists."""
        screened = screen_offer(sdp, self.candidates)
        # MAX_BUNDLE: with aiortc's default (BALANCED) a second transceiver of one kind
        # stays on a transport that BUNDLE then discards, and never sends.
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=self._ice, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        peer = Peer(user_id, pc, publish, candidates=screened.kept)
        room = self._rooms.setdefault(room_id, MediaRoom(room_id))
        #: Tracks announced while the offer is read: published once it is taken.
        arrived: list[MediaStreamTrack] = []

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if room.peers.get(user_id) is peer:
                if peer.publishes:
                    self._publish(room, peer, track)
            else:
                arrived.append(track)

        @pc.on("connectionstatechange")
        def on_connection_state() -> None:
            # Failed: consent expired or DTLS broke. Closed while still in the room: the
            # browser closed its side (the hub pops a peer before closing it itself).
            state = pc.connectionState
            if state in ("failed", "closed") and room.peers.get(user_id) is peer:
                self._report(room, peer, lost=True, reason=f"media_{state}")

        try:
            answer = await self._negotiate(room, peer, screened.sdp, receive_from)
        except Exception as exc:
            await self._discard(room, peer)
            if isinstance(exc, MediaError):
                raise
            # The screen lets through only what browsers send; anything aiortc still
            # cannot use is the participant's offer, not the server, failing.
            log.info("offer refused by aiortc: %s", type(exc).__name__)
            raise MediaError(
                "bad_sdp", f"the offer could not be used ({type(exc).__name__})"
            ) from None
        old = room.peers.pop(user_id, None)
        if old is not None:
            # A rebuilt connection replaces a lost one: it is "lost" until its media
            # flows, and then reported live (the browser closing the old one is seen as
            # a drop; without this the seat stayed "dropped" over a working call).
            peer.lost = old.lost
        room.peers[user_id] = peer
        if publish:
            for track in arrived:
                self._publish(room, peer, track)
        for publication_key, publication in room.publications.items():
            subscription = peer.subscriptions.get(publication_key)
            if subscription is not None:
                publication.add(subscription)
        if old is not None:
            await self._close_peer(room, old)
        self._ensure_remb_task()
        return answer

    async def _negotiate(
        self, room: MediaRoom, peer: Peer, sdp: str, receive_from: Sequence[int]
    ) -> str:
        """Read the offer into the peer's connection and answer it, touching nothing
        outside the peer."""
        pc = peer.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        transceivers = pc.getTransceivers()
        kinds = [t.kind for t in transceivers]
        if not kinds or not set(kinds) <= {"audio", "video"}:
            raise MediaError("bad_sdp", "the offer must carry audio and/or video")
        for transceiver in transceivers:
            # Only what we forward: never transcoded, so every leg needs the same codec.
            preferences = _codec_preferences(transceiver.kind, self.settings.video_codec)
            if not aiortc_hook.narrow_answer_codecs(transceiver, preferences):
                wanted = "Opus" if transceiver.kind == "audio" else self.settings.video_codec
                raise MediaError("bad_sdp", f"the offer's {transceiver.kind} lacks {wanted}")
            if transceiver.kind == "audio":
                # In-band FEC: a browser sends it only when the answer says the far end
                # can use it; on a lossy mountain link it keeps speech intelligible.
                aiortc_hook.answer_codec_parameters(transceiver, "audio/opus", OPUS_PARAMETERS)
            if not peer.publishes:
                transceiver.direction = "sendonly"
        publishers = [p for p in receive_from if p != peer.user_id]
        for kind in ("audio", "video"):
            free = kinds.count(kind)
            for publisher_id in publishers[:free]:
                self._subscribe(room, peer, publisher_id, kind)
        if peer.publishes:
            peer.sends_layers = simulcast.offered(sdp)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        if not aiortc_hook.has_transports(pc):
            raise MediaError("bad_sdp", "the offer's media sections cannot share one transport")
        return simulcast.accept(str(pc.localDescription.sdp), peer.sends_layers)

    async def _discard(self, room: MediaRoom, peer: Peer) -> None:
        """Undo a peer whose offer was refused: it was never in the room."""
        for subscription in peer.subscriptions.values():
            subscription.stop()
        await aiortc_hook.close_peer_connection(peer.pc)
        self._forget_if_empty(room)

    def _subscribe(self, room: MediaRoom, peer: Peer, publisher_id: int, kind: str) -> None:
        subscription = Subscription(kind)
        sender = peer.pc.addTrack(subscription)
        transceiver = next((t for t in peer.pc.getTransceivers() if t.sender is sender), None)
        subscription.attach(sender, transceiver)
        peer.subscriptions[(publisher_id, kind)] = subscription

        def keyframe_request() -> None:
            publication = room.publications.get((publisher_id, kind))
            if publication is not None:
                publication.request_keyframe(subscription)

        def remb(bitrate: int) -> None:
            if kind == "video":
                peer.remb[publisher_id] = bitrate

        def loss(fraction: float) -> None:
            peer.loss[publisher_id] = fraction

        aiortc_hook.watch_sender(
            sender,
            keyframe_request,
            remb,
            loss if kind == "video" else None,
            subscription.retransmit,
        )

    def _publish(self, room: MediaRoom, peer: Peer, track: MediaStreamTrack) -> None:
        kind = track.kind
        same_kind = [t for t in peer.pc.getTransceivers() if t.kind == kind]
        index = next(i for i, t in enumerate(same_kind) if t.receiver.track is track)
        receiver = same_kind[index].receiver
        if peer.relays:
            if index >= len(peer.relays):
                return
            key = (peer.relays[index], kind)
        else:
            key = (peer.user_id, kind)
        old = room.publications.pop(key, None)
        if old is not None:
            old.close()
        inbound = aiortc_packets.Inbound(receiver)
        publication = Publication(kind, inbound)
        offered = peer.sends_layers.get(same_kind[index].mid or "")
        if offered is not None:
            publication.rids = offered.rids
            publication.rid_ids = (offered.rid_id, offered.repaired_id)
        room.publications[key] = publication
        peer.publications[key] = publication

        def on_end() -> None:
            if room.publications.get(key) is publication:
                room.publications.pop(key)
                publication.close()

        if kind == "video" and not peer.relays:
            publication.uplink = peer.uplink = aiortc_hook.UplinkEstimate()
        # The tap idles the receiver's decoder thread and tells when it stops; its
        # packets go to the publication straight from the socket.
        aiortc_hook.tap_receiver(receiver, lambda codec, frame: None, on_end)
        inbound.route(publication.packet)
        if room.recording_dir is not None:
            self._record(room, key[0], kind, publication, new_source=True)
        for other in room.peers.values():
            subscription = other.subscriptions.get(key)
            if subscription is not None:
                publication.add(subscription)

    # -- recording -------------------------------------------------------------------

    def start_recording(
        self,
        room_id: str,
        directory: Path,
        on_recorded: Callable[[int], None] | None = None,
    ) -> None:
        """Stream-copy every publisher's media into ``directory/<user>.webm``;
        ``on_recorded(user_id)`` runs when a participant's first frame is written."""
        room = self._rooms.setdefault(room_id, MediaRoom(room_id))
        if room.recording_dir is not None:
            return
        room.recording_dir = directory
        room.on_recorded = on_recorded
        room.recording_origin = time.monotonic()
        for (user_id, kind), publication in room.publications.items():
            self._record(room, user_id, kind, publication)
            if kind == "video":
                publication.request_keyframe()  # start the file on a fresh key frame

    def _record(
        self,
        room: MediaRoom,
        user_id: int,
        kind: str,
        publication: Publication,
        new_source: bool = False,
    ) -> None:
        assert room.recording_dir is not None
        writer = room.recorders.get(user_id)
        if writer is None:
            writer = RecordingWriter(
                recording_path(room.recording_dir, user_id),
                room.recording_origin,
                on_first_frame=self._first_frame_callback(room, user_id),
            )
            room.recorders[user_id] = writer
        elif new_source:
            writer.new_source(kind)
        publication.sinks.append(writer.sink(kind))

    @staticmethod
    def _first_frame_callback(room: MediaRoom, user_id: int) -> Callable[[], None] | None:
        callback = room.on_recorded
        if callback is None:
            return None
        loop = asyncio.get_running_loop()

        def tell() -> None:
            loop.call_soon_threadsafe(callback, user_id)

        return tell

    async def stop_recording(self, room_id: str) -> dict[int, RecordingWriter]:
        """Finish the files (off the event loop); returns the writers by participant."""
        room = self._rooms.get(room_id)
        if room is None or room.recording_dir is None:
            return {}
        for publication in room.publications.values():
            publication.sinks.clear()
        writers, room.recorders, room.recording_dir = room.recorders, {}, None
        room.on_recorded = None
        self._forget_if_empty(room)
        await asyncio.gather(*(asyncio.to_thread(w.close) for w in writers.values()))
        return writers

    # -- bitrate ---------------------------------------------------------------------

    def _ensure_remb_task(self) -> None:
        if self._remb_task is None or self._remb_task.done():
            self._remb_task = asyncio.create_task(self._remb_loop())

    async def _remb_loop(self) -> None:
        while self._rooms:
            await asyncio.sleep(REMB_INTERVAL)
            now = time.monotonic()
            for room in list(self._rooms.values()):
                for (publisher_id, kind), publication in list(room.publications.items()):
                    if kind == "video":
                        self._send_cap(room, publisher_id)
                        if publication.rids:
                            self._choose_layers(room, publisher_id, publication, now)
                for peer in list(room.peers.values()):
                    self._check_link(room, peer, now)

    def _choose_layers(
        self, room: MediaRoom, publisher_id: int, publication: Publication, now: float
    ) -> None:
        """Each subscriber of a simulcast video: the layer its leg carries."""
        layers = publication.ranked()
        bitrates = [0] * len(publication.rids)
        for layer in layers:
            bitrates[layer.rank] = layer.take_bitrate(REMB_INTERVAL)
        for peer in room.peers.values():
            subscription = peer.subscriptions.get((publisher_id, "video"))
            if subscription is None or subscription.publication is not publication:
                continue
            if publisher_id not in peer.remb:
                continue  # no estimate from its browser yet: it stays where it started
            choice = peer.layer_choices.setdefault(publisher_id, simulcast.LayerChoice())
            estimate = _leg_estimate(
                peer.remb.get(publisher_id, START_BITRATE), peer.loss.get(publisher_id, 0.0)
            )
            rank = choice.update(bitrates, estimate, now)
            subscription.wanted_rank = rank
            publication.choose(subscription, rank)

    def _check_link(self, room: MediaRoom, peer: Peer, now: float) -> None:
        """Report a connected peer that went silent, or a lost one whose packets resumed."""
        if peer.pc.connectionState != "connected":
            return
        count = aiortc_hook.packets_received(peer.pc)
        if count is None:
            return
        if count != peer.heard_packets:
            peer.heard_packets, peer.heard_at = count, now
        silent = now - peer.heard_at >= SILENT_AFTER
        if silent and not peer.lost:
            self._report(room, peer, lost=True, reason="media_silent")
        elif not silent and peer.lost:
            self._report(room, peer, lost=False, reason="media_back")

    def _report(self, room: MediaRoom, peer: Peer, lost: bool, reason: str) -> None:
        if peer.lost == lost:
            return
        peer.lost = lost
        if peer.relays:
            if lost and self.on_relay_lost is not None:
                self.on_relay_lost(room.room_id, reason)
            return
        if lost:
            log.warning("room %s: participant %s lost (%s)", room.room_id, peer.user_id, reason)
        else:
            log.info("room %s: participant %s back (%s)", room.room_id, peer.user_id, reason)
        if self.on_peer_state is not None:
            self.on_peer_state(room.room_id, peer.user_id, "lost" if lost else "live", reason)

    def bitrate_cap(self, room: MediaRoom, publisher_id: int) -> int:
        """The lower of the publisher's measured uplink and its weakest video
        subscriber's leg (its estimate, less what its reports say is lost; a leg with
        no estimate yet counts ``START_BITRATE``), clamped. A simulcast publisher's
        subscribers each get the layer they carry: none holds it back, and its cap
        is the ceiling for its best layer and room for the others."""
        publication = room.publications.get((publisher_id, "video"))
        if publication is not None and publication.rids:
            return self.settings.bitrate_ceiling + SIMULCAST_LOWER_LAYERS
        legs = [
            _leg_estimate(
                peer.remb.get(publisher_id, START_BITRATE), peer.loss.get(publisher_id, 0.0)
            )
            for peer in room.peers.values()
            if (publisher_id, "video") in peer.subscriptions
        ]
        publisher = room.peers.get(publisher_id)
        uplink = publisher.uplink.bitrate if publisher and publisher.uplink else None
        cap = min([*(legs or [START_BITRATE]), *([uplink] if uplink is not None else [])])
        return max(self.settings.bitrate_floor, min(cap, self.settings.bitrate_ceiling))

    def _send_cap(self, room: MediaRoom, publisher_id: int) -> None:
        peer = room.peers.get(publisher_id)
        publication = peer.publications.get((publisher_id, "video")) if peer else None
        if peer is None or publication is None:
            return
        target = self.bitrate_cap(room, publisher_id)
        if publication.rids:
            # Its lowest layer is small already: no slow start, or the viewers would
            # watch the smallest picture for the first 15 s.
            peer.sent_cap = target
            publication.send_remb(target)
            return
        previous = peer.sent_cap if peer.sent_cap is not None else START_BITRATE
        # Up gently (a subscriber's estimate can overshoot a link that just recovered),
        # down at once.
        cap = min(target, max(int(previous * RAMP_PER_SECOND), self.settings.bitrate_floor))
        peer.sent_cap = cap
        publication.send_remb(cap)

    # -- candidates and leaving ------------------------------------------------------

    async def add_candidate(self, room_id: str, user_id: int, candidate: object) -> bool:
        """Add a trickled browser candidate; ``None`` or "" means end of candidates.
        Returns whether the server will contact it (see ``media.candidates``)."""
        room = self._rooms.get(room_id)
        peer = room.peers.get(user_id) if room else None
        if peer is None:
            raise MediaError("no_peer", "send an offer before candidates")
        if candidate is None:
            candidate = {"candidate": ""}
        if not isinstance(candidate, dict):
            raise MediaError("bad_candidate", "candidate must be an object or null")
        line = candidate.get("candidate")
        if not isinstance(line, str) or len(line) > 1024:
            raise MediaError("bad_candidate", "candidate line is missing or too long")
        if not line:
            # With no usable candidate, ICE must keep waiting: the browser's own checks
            # are then its candidates (peer-reflexive).
            if peer.candidates and not peer.candidates_ended:
                peer.candidates_ended = True
                await peer.pc.addIceCandidate(None)
            return False
        parsed = read_candidate(line)
        if peer.candidates_ended:
            raise MediaError("bad_candidate", "candidates came after their end")
        if candidate_refusal(parsed, self.candidates) is not None:
            return False
        if peer.candidates >= MAX_REMOTE_CANDIDATES:
            raise MediaError("too_many_candidates", "this connection has enough candidates")
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        parsed.sdpMid = mid if isinstance(mid, str) else None
        parsed.sdpMLineIndex = index if isinstance(index, int) else None
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        try:
            await peer.pc.addIceCandidate(parsed)
        except Exception as exc:  # an sdpMid or index naming no media section, and such
            raise MediaError(
                "bad_candidate", f"the candidate could not be used ({type(exc).__name__})"
            ) from None
        peer.candidates += 1
        return True

    # -- relays between nodes --------------------------------------------------------

    async def relay_offer(self, room_id: str, relay_id: int, sources: Sequence[int]) -> str:
        """The receiving end of a relay from the node holding ``room_id`` (its origin):
        a peer that takes each of ``sources``' audio and video once and publishes them
        here under their own ids, for this node's viewers. Returns its offer; the
        origin answers it as a receive-only participant (``handle_offer``), and
        :meth:`relay_answer` takes that answer. Replaces an earlier relay of the room."""
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=self._ice, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        peer = Peer(relay_id, pc, publishes=True, relays=tuple(sources))
        room = self._rooms.setdefault(room_id, MediaRoom(room_id))
        for kind in ("audio", "video"):
            for _ in sources:
                transceiver = pc.addTransceiver(kind, direction="recvonly")
                transceiver.setCodecPreferences(_codec_preferences(kind, self.settings.video_codec))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if room.peers.get(relay_id) is peer:
                self._publish(room, peer, track)

        @pc.on("connectionstatechange")
        def on_connection_state() -> None:
            state = pc.connectionState
            if state in ("failed", "closed") and room.peers.get(relay_id) is peer:
                self._report(room, peer, lost=True, reason=f"relay_{state}")

        await pc.setLocalDescription(await pc.createOffer())
        old = room.peers.pop(relay_id, None)
        room.peers[relay_id] = peer
        if old is not None:
            await self._close_peer(room, old)
        self._ensure_remb_task()
        return str(pc.localDescription.sdp)

    async def relay_answer(self, room_id: str, relay_id: int, sdp: str) -> None:
        """The origin's answer to :meth:`relay_offer`: the relay connects."""
        room = self._rooms.get(room_id)
        peer = room.peers.get(relay_id) if room else None
        if peer is None or not peer.relays:
            raise MediaError("no_peer", "no relay is waiting for this answer")
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    def live(self, room_id: str, user_id: int) -> bool:
        """Whether this participant's peer is here, connected and not reported lost: a
        page whose signaling socket came back may then keep its peer connection."""
        room = self._rooms.get(room_id)
        peer = room.peers.get(user_id) if room else None
        return peer is not None and not peer.lost and peer.pc.connectionState == "connected"

    async def leave(self, room_id: str, user_id: int) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        peer = room.peers.pop(user_id, None)
        if peer is not None:
            await self._close_peer(room, peer)
        self._forget_if_empty(room)

    def _forget_if_empty(self, room: MediaRoom) -> None:
        """Drop a room nobody is in, unless it is being recorded: a recorded room waits
        (its files open) for its people to come back or for stop_recording."""
        if not room.peers and room.recording_dir is None and self._rooms.get(room.room_id) is room:
            self._rooms.pop(room.room_id)
            for publication in room.publications.values():
                publication.close()
            room.publications.clear()

    async def _close_peer(self, room: MediaRoom, peer: Peer) -> None:
        # Only this peer's own publications: a reconnect's new ones already replaced them.
        for key, publication in peer.publications.items():
            if room.publications.get(key) is publication:
                room.publications.pop(key)
            publication.close()
        for key, subscription in peer.subscriptions.items():
            source = room.publications.get(key)
            if source is not None:
                source.remove(subscription)
            subscription.stop()
        await aiortc_hook.close_peer_connection(peer.pc)

    async def close_room(self, room_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        await self.stop_recording(room_id)
        for peer in list(room.peers.values()):
            await self.leave(room_id, peer.user_id)

    async def close(self) -> None:
        for room_id in list(self._rooms):
            await self.close_room(room_id)
        if self._remb_task is not None:
            self._remb_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._remb_task

    def stats(self) -> dict[str, int]:
        return {
            "rooms": len(self._rooms),
            "peers": sum(len(r.peers) for r in self._rooms.values()),
        }

    def tracks(self) -> tuple[int, int]:
        """Tracks published here now, and the subscriptions forwarding them."""
        rooms = self._rooms.values()
        published = sum(len(r.publications) for r in rooms)
        forwarded = sum(len(p.subscriptions) for r in rooms for p in r.peers.values())
        return published, forwarded
