"""One audit entry per user and object per window, however many requests it takes.

A player seeking through a clip or a viewer paging a series asks for the same file many
times; the first request of a user for an object in any window (whatever its Range or
method) is logged, the ones that follow within it are not. Kept per process.
"""

from __future__ import annotations

#: A user's requests for one object within this many seconds make one entry.
WINDOW_SECONDS = 600.0


class AccessWindow:
    """When each (user, object) was last logged, in this process."""

    def __init__(self, seconds: float = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._last: dict[tuple[int, str], float] = {}

    def due(self, user_id: int, obj: str, now: float) -> bool:
        key = (user_id, obj)
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return False
        if len(self._last) > 10_000:  # forget the stale ones now and then
            self._last = {k: t for k, t in self._last.items() if now - t < self.seconds}
        self._last[key] = now
        return True
