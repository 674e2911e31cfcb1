"""python-socketio's server, closed at its edge to anyone not signed in.

Three changes, each where python-socketio offers no option:

- an Engine.IO session opens only with a login cookie (the handshake is refused with
  401 before any session, socket or timer exists), so nobody can hold sessions open
  without signing in;
- the server speaks WebSocket only (our pages never poll): a polling session's id,
  which travels in URLs and access logs, is never enough to read someone's events;
- a packet python-socketio cannot read closes that connection and is logged within a
  budget, instead of a traceback each (2,000 malformed packets made 3.8 MB of log).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio

from signaling.ports import People

log = logging.getLogger(__name__)


class LogBudget:
    """At most ``lines`` log lines per ``window`` seconds; the rest are counted and the
    count told with the next line that fits."""

    def __init__(self, lines: int = 10, window: float = 60.0) -> None:
        self.lines = lines
        self.window = window
        self._start = 0.0
        self._used = 0
        self.suppressed = 0

    def warn(self, message: str, *args: object, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now - self._start >= self.window:
            self._start, self._used = now, 0
        if self._used >= self.lines:
            self.suppressed += 1
            return
        self._used += 1
        if self.suppressed:
            message += " (%d like it not logged)"
            args = (*args, self.suppressed)
            self.suppressed = 0
        log.warning(message, *args, exc_info=exc_info)


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, people: People, **kwargs: Any) -> None:
        super().__init__(transports=["websocket"], **kwargs)
        self._people = people
        self.malformed = LogBudget()
        #: Connections refused at the handshake and packets that could not be read.
        self.refused = 0
        self.unreadable = 0

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if await self._people.signed_in(environ.get("HTTP_COOKIE", "")) is None:
            self.refused += 1
            return False  # Engine.IO answers 401 and keeps nothing
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # python-socketio raises on what it cannot decode
            self.unreadable += 1
            self.malformed.warn(
                "closed a socket that sent an unreadable packet (%s)", type(exc).__name__
            )
            socket = self.eio.sockets.get(eio_sid)
            await self.eio.disconnect(eio_sid)
            if socket is not None:
                # Engine.IO sends its close packet but leaves the WebSocket open until
                # the peer speaks or the ping times out: end the writer, which closes it.
                await socket.queue.put(None)
