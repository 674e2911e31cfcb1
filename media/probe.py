"""The far end of the pre-join connection test: a data channel that echoes.

Before entering a room the page opens a small peer connection to the media server with
one data channel (no camera, no microphone) and sends a few pings over it. Whether it
connects, over which kind of candidate pair (direct UDP, or relayed by TURN), and the
round trip it measures tell the clinician, before the call, whether media will flow and
how slow the link is. It goes through the same ICE set-up as the room's media (the
configured host addresses and port range), so it fails where the call would fail.

Bounded: one probe per user (a new one replaces the old), at most ``MAX_PROBES`` at
once, each closed after ``LIFETIME`` seconds; echoes only small messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdatachannel import RTCDataChannel

from media import aiortc_hook
from media.candidates import CandidatePolicy
from media.errors import MediaError
from media.offer_screen import screen_offer

LIFETIME = 30.0
MAX_PROBES = 16
#: A ping is a sequence number and a time stamp; anything longer is not echoed.
MAX_ECHO_BYTES = 64


class LinkProbes:
    def __init__(
        self,
        ice_urls: Sequence[str] = (),
        lifetime: float = LIFETIME,
        candidates: CandidatePolicy | None = None,
    ) -> None:
        self._ice = [RTCIceServer(urls=url) for url in ice_urls]
        self.candidates = candidates or CandidatePolicy()
        self._lifetime = lifetime
        self._probes: dict[int, RTCPeerConnection] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        #: Closings started by a lifetime's end (referenced until done).
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._probes)

    async def answer(self, owner: int, sdp: str) -> str:
        """Answer ``owner``'s probe offer (one data channel); returns the answer SDP."""
        screened = screen_offer(sdp, self.candidates, probe=True)
        await self.close(owner)
        if len(self._probes) >= MAX_PROBES:
            raise MediaError("busy", "too many connection tests at once; try again shortly")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        self._probes[owner] = pc

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            @channel.on("message")
            def echo(message: str | bytes) -> None:
                if len(message) <= MAX_ECHO_BYTES and channel.readyState == "open":
                    channel.send(message)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=screened.sdp, type="offer"))
            if pc.getTransceivers() or pc.sctp is None:
                raise ValueError("a connection test carries one data channel and no media")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # whatever aiortc could not use: the offer failed
            await self.close(owner)
            raise MediaError(
                "bad_sdp", f"the connection test's offer could not be used ({type(exc).__name__})"
            ) from None
        self._timers[owner] = asyncio.get_running_loop().call_later(
            self._lifetime, self._expire, owner, pc
        )
        return str(pc.localDescription.sdp)

    def _expire(self, owner: int, pc: RTCPeerConnection) -> None:
        task = asyncio.create_task(self.close(owner, pc))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self, owner: int, only: RTCPeerConnection | None = None) -> None:
        """Close ``owner``'s probe (only if it is still ``only``, when given)."""
        pc = self._probes.get(owner)
        if pc is None or (only is not None and pc is not only):
            return
        del self._probes[owner]
        timer = self._timers.pop(owner, None)
        if timer is not None:
            timer.cancel()
        await aiortc_hook.close_peer_connection(pc)

    async def close_all(self) -> None:
        for owner in list(self._probes):
            await self.close(owner)
