"""Rooms of aiortc peers: one ``RTCPeerConnection`` per participant.

Every participant publishes audio + video and receives every other participant's.
A participant who reconnects (page reload, new network) sends a fresh offer; the old
peer is closed and the others' slots are pointed at the new tracks, so nobody else has
to renegotiate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from media.slots import ForwardSlot

log = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
StateCallback = Callable[[int, int, str], Awaitable[None]]


class MediaError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Participant:
    user_id: int
    pc: RTCPeerConnection
    #: What this participant publishes, by kind.
    published: dict[str, MediaStreamTrack] = field(default_factory=dict)
    #: What this participant receives: one slot per (other participant, kind).
    slots: dict[tuple[int, str], ForwardSlot] = field(default_factory=dict)


@dataclass
class MediaRoom:
    consult_id: int
    participants: dict[int, Participant] = field(default_factory=dict)


class MediaHub:
    def __init__(self, ice_servers: tuple[str, ...] = ()) -> None:
        self._rooms: dict[int, MediaRoom] = {}
        self._relay = MediaRelay()
        self._ice = [RTCIceServer(urls=url) for url in ice_servers]
        self._on_state: StateCallback | None = None

    def on_connection_state(self, callback: StateCallback) -> None:
        self._on_state = callback

    def room(self, consult_id: int) -> MediaRoom | None:
        return self._rooms.get(consult_id)

    async def handle_offer(
        self, consult_id: int, user_id: int, sdp: str, others: Sequence[int]
    ) -> str:
        """Build this participant's peer from the browser's offer; return the answer SDP.

        ``others`` are the room's other expected participants: the peer gets one
        sending slot per kind for each, so media flows as soon as they publish, with no
        renegotiation. The browser offers one transceiver per kind per remote.
        """
        if not isinstance(sdp, str) or not sdp or len(sdp) > MAX_SDP_BYTES:
            raise MediaError("bad_sdp", "the offer is missing or too large")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        participant = Participant(user_id, pc)
        room = self._rooms.setdefault(consult_id, MediaRoom(consult_id))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            participant.published[track.kind] = track
            if room.participants.get(user_id) is participant:
                self._wire(room)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if self._on_state is not None:
                await self._on_state(consult_id, user_id, pc.connectionState)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            await pc.close()
            self._forget_if_empty(room)
            raise MediaError(
                "bad_sdp", f"the offer could not be read ({type(exc).__name__})"
            ) from None
        kinds = [t.kind for t in pc.getTransceivers()]
        if not kinds or not set(kinds) <= {"audio", "video"}:
            await pc.close()
            self._forget_if_empty(room)
            raise MediaError("bad_sdp", "the offer must carry audio and/or video")
        old = room.participants.pop(user_id, None)
        if old is not None:
            await self._close_participant(room, old)
        for kind in ("audio", "video"):
            free = kinds.count(kind)
            for other in others:
                if other != user_id and free > 0:
                    slot = ForwardSlot(kind)
                    pc.addTrack(slot)
                    participant.slots[(other, kind)] = slot
                    free -= 1
        room.participants[user_id] = participant
        self._wire(room)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        return str(pc.localDescription.sdp)

    def _forget_if_empty(self, room: MediaRoom) -> None:
        if not room.participants:
            self._rooms.pop(room.consult_id, None)

    def _wire(self, room: MediaRoom) -> None:
        """Point every slot at its publisher's current track."""
        for receiver in room.participants.values():
            for (publisher_id, kind), slot in receiver.slots.items():
                publisher = room.participants.get(publisher_id)
                track = publisher.published.get(kind) if publisher else None
                if track is None:
                    continue
                current = slot.source
                if current is not None and getattr(current, "_source", None) is track:
                    continue
                slot.attach(self._relay.subscribe(track, buffered=False))

    async def add_candidate(self, consult_id: int, user_id: int, candidate: object) -> None:
        """Add a trickled browser candidate; ``None`` means end of candidates."""
        room = self._rooms.get(consult_id)
        participant = room.participants.get(user_id) if room else None
        if participant is None:
            raise MediaError("no_peer", "send an offer before candidates")
        if candidate is None:
            await participant.pc.addIceCandidate(None)
            return
        if not isinstance(candidate, dict):
            raise MediaError("bad_candidate", "candidate must be an object or null")
        line = candidate.get("candidate")
        if not isinstance(line, str) or len(line) > 1024:
            raise MediaError("bad_candidate", "candidate line is missing or too long")
        if not line:
            await participant.pc.addIceCandidate(None)
            return
        try:
            parsed = candidate_from_sdp(line.removeprefix("candidate:"))
        except (ValueError, IndexError):
            raise MediaError("bad_candidate", "candidate line could not be read") from None
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        parsed.sdpMid = mid if isinstance(mid, str) else None
        parsed.sdpMLineIndex = index if isinstance(index, int) else None
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        await participant.pc.addIceCandidate(parsed)

    async def leave(self, consult_id: int, user_id: int) -> None:
        room = self._rooms.get(consult_id)
        if room is None:
            return
        participant = room.participants.pop(user_id, None)
        if participant is not None:
            await self._close_participant(room, participant)
        self._forget_if_empty(room)

    async def _close_participant(self, room: MediaRoom, participant: Participant) -> None:
        for other in room.participants.values():
            for (publisher_id, _kind), slot in other.slots.items():
                if publisher_id == participant.user_id:
                    slot.attach(None)
        for slot in participant.slots.values():
            slot.stop()
        await participant.pc.close()

    async def close_room(self, consult_id: int) -> None:
        room = self._rooms.pop(consult_id, None)
        if room is None:
            return
        await asyncio.gather(
            *(self._close_participant(room, p) for p in list(room.participants.values()))
        )

    async def close(self) -> None:
        for consult_id in list(self._rooms):
            await self.close_room(consult_id)

    def stats(self) -> dict[str, int]:
        return {
            "rooms": len(self._rooms),
            "peers": sum(len(r.participants) for r in self._rooms.values()),
        }


__all__ = ["MediaError", "MediaHub", "RTCIceCandidate"]
