"""Packets lost between a publisher and the server, asked for again (RFC 4585 generic
NACK): the publisher's browser resends them (as RTX where negotiated), and the packet
path forwards each one late, into the hole its subscribers are waiting to fill.

A hole is asked for at once, then again every ``RESEND_EVERY`` seconds (the browser
ignores a request repeated within its round trip) until the packet comes, ``MAX_TRIES``
requests were made or it is ``GIVE_UP_AFTER`` seconds old; then ``on_give_up`` runs
(the forwarder asks for a key frame: the fallback, not the rule).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

RESEND_EVERY = 0.12
MAX_TRIES = 8
GIVE_UP_AFTER = 1.5
#: A jump in sequence numbers this large is a restarted stream, not a hole.
MAX_HOLE = 256
#: At most this many sequence numbers pending (a bound whatever arrives).
MAX_MISSING = 512


class Resend:
    def __init__(self, send: Callable[[list[int]], None], on_give_up: Callable[[], None]) -> None:
        self._send = send
        self._on_give_up = on_give_up
        self._highest: int | None = None
        #: Sequence number -> [first missed at, requests sent].
        self._missing: dict[int, list[float]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.asked = 0
        self.recovered = 0
        self.given_up = 0

    @property
    def missing(self) -> list[int]:
        return list(self._missing)

    def note(self, seq: int) -> None:
        """A packet arrived (in order, late or resent)."""
        highest = self._highest
        if highest is None:
            self._highest = seq
            return
        step = (seq - highest) & 0xFFFF
        if step == 0:
            return
        if step >= 0x8000:  # older than the highest: a late or resent packet
            if self._missing.pop(seq, None) is not None:
                self.recovered += 1
            return
        self._highest = seq
        if step == 1:
            return
        if step > MAX_HOLE or len(self._missing) + step > MAX_MISSING:
            self._drop_all()
            return
        hole = [(highest + i) & 0xFFFF for i in range(1, step)]
        now = time.monotonic()
        for lost in hole:
            self._missing[lost] = [now, 1.0]
        self.asked += len(hole)
        self._send(hole)
        self._arm()

    def _arm(self) -> None:
        if self._timer is None and self._missing:
            self._timer = asyncio.get_running_loop().call_later(RESEND_EVERY, self._again)

    def _again(self) -> None:
        self._timer = None
        now = time.monotonic()
        again: list[int] = []
        gone = False
        for seq, entry in list(self._missing.items()):
            if now - entry[0] > GIVE_UP_AFTER or entry[1] >= MAX_TRIES:
                del self._missing[seq]
                self.given_up += 1
                gone = True
            else:
                entry[1] += 1
                again.append(seq)
        if again:
            self._send(again)
        if gone:
            self._on_give_up()
        self._arm()

    def _drop_all(self) -> None:
        if self._missing:
            self.given_up += len(self._missing)
            self._missing.clear()
            self._on_give_up()

    def reset(self) -> None:
        """A new stream (SSRC): forget the old one's holes."""
        self._highest = None
        self._missing.clear()
        self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
