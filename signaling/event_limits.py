"""How many messages of each kind one socket may send (issue 11: 2,000 ``room:media``
events in 0.29 s wrote 3,334 timeline rows).

A browser sends a few of each per call: a join, an offer per (re)connection, a dozen
candidates, a mute now and then. Past these numbers a message is answered
``rate_limited`` without being looked at. Show-to-everyone, view updates and pointer
moves share one faster bucket, ``VIEWS``, which their handlers ask for themselves.
"""

from __future__ import annotations

from collections import deque

from signaling.shared_view import VIEW_RATE

#: The bucket of room:show, room:view and room:pointer together.
VIEWS = "views"

#: event -> (messages, seconds) per socket.
EVENT_LIMITS: dict[str, tuple[int, float]] = {
    "room:join": (10, 10.0),
    "room:offer": (6, 10.0),
    "room:candidate": (60, 10.0),
    "room:media": (20, 10.0),
    "room:leave": (10, 10.0),
    "room:chat": (10, 10.0),
    # A viewer's questions: a few a minute; the presenter marks as fast as they read.
    "room:ask": (3, 10.0),
    "room:answer": (20, 10.0),
    "room:questions": (10, 10.0),
    "room:unshow": (10, 10.0),
    # A screen is shared, stopped and shared again a few times a lesson.
    "room:screen": (6, 10.0),
    "room:screen_stop": (10, 10.0),
    "net:ice": (10, 10.0),
    "net:probe": (4, 10.0),
    VIEWS: (VIEW_RATE, 1.0),
}


class EventLimits:
    def __init__(self, limits: dict[str, tuple[int, float]] | None = None) -> None:
        self.limits = EVENT_LIMITS if limits is None else limits
        self._sent: dict[tuple[str, str], deque[float]] = {}

    def allow(self, sid: str, event: str, now: float) -> bool:
        limit = self.limits.get(event)
        if limit is None:
            return True
        count, window = limit
        sent = self._sent.setdefault((sid, event), deque())
        while sent and now - sent[0] > window:
            sent.popleft()
        if len(sent) >= count:
            return False
        sent.append(now)
        return True

    def forget(self, sid: str) -> None:
        for key in [k for k in self._sent if k[0] == sid]:
            del self._sent[key]
