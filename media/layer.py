"""One encoding of a published track: a publisher sends one, or with simulcast one per
quality (RFC 8853: each its own SSRC, named by its RID).

Everything that belongs to one SSRC lives here: the packets kept for retransmission,
the holes asked for again (``media.resend``), the receiver reports' statistics, the
key-frame requests and the measured bitrate; and the subscriptions forwarded from it,
with those waiting for its next key frame to switch to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from media.resend import Resend

if TYPE_CHECKING:
    from media.aiortc_packets import ReceiveStats
    from media.forwarding import KeyframeRequester
    from media.subscription import Subscription

#: Video packets kept per layer for retransmission (~6 s at 1.5 Mbit/s).
CACHE_PACKETS = 1024
CACHE_MASK = CACHE_PACKETS - 1


class Layer:
    def __init__(
        self,
        ssrc: int,
        rid: str | None,
        video: bool,
        requester: KeyframeRequester,
        stats: ReceiveStats | None,
        send_nack: Callable[[int, list[int]], None],
    ) -> None:
        self.ssrc = ssrc
        self.rid = rid
        #: Its place among the track's layers (0 = the lowest quality).
        self.rank = 0
        self.requester = requester
        self.stats = stats
        self.cache: list[bytes | None] = [None] * CACHE_PACKETS if video else []
        self.cached_seq = [-1] * CACHE_PACKETS if video else []
        self.resend = (
            Resend(lambda lost: send_nack(ssrc, lost), requester.request) if video else None
        )
        #: Forwarded from this layer now, and waiting for its next key frame to be.
        self.subscriptions: list[Subscription] = []
        self.joining: list[Subscription] = []
        #: Payload bytes since the last ``take_bitrate``, and the bitrate then found.
        self.bytes = 0
        self.bitrate = 0

    def cached(self, seq: int) -> bytes | None:
        slot = seq & CACHE_MASK
        if self.cached_seq and self.cached_seq[slot] == seq:
            return self.cache[slot]
        return None

    def take_bitrate(self, seconds: float) -> int:
        """The bitrate over the last ``seconds`` (read once a second by the hub)."""
        if seconds > 0:
            self.bitrate = int(self.bytes * 8 / seconds)
        self.bytes = 0
        return self.bitrate

    def close(self) -> None:
        self.requester.close()
        if self.resend is not None:
            self.resend.close()
