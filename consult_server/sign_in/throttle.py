"""Failed logins, counted per account and per address, with a temporary lock.

Sans-I/O: the caller passes the clock. After ``account_limit`` failures for one
username within ``window`` seconds that username is locked for ``lock`` seconds, from
every address; after ``address_limit`` failures from one address, that address is,
for every username. A correct password during a lock is refused too (otherwise the
lock would only slow a guesser down), with the same message, which says how long.

Locking an account lets someone who knows a username keep its owner out for a while:
the account limit is set well above what a person mistyping makes (10 in 15 min) and
the lock is short. Counts live in this process (with several processes each counts
its own), and are forgotten on restart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

ACCOUNT_LIMIT = 10
ADDRESS_LIMIT = 30
WINDOW_SECONDS = 900.0
LOCK_SECONDS = 900.0


def account_key(username: str) -> str:
    return f"account:{username.strip().casefold()[:64]}"


def address_key(remote: str | None) -> str:
    return f"address:{remote or '?'}"


@dataclass
class LoginThrottle:
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: float = WINDOW_SECONDS
    lock: float = LOCK_SECONDS
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def locked_for(self, keys: list[str], now: float) -> float:
        """Seconds until every one of ``keys`` is unlocked (0: none is locked)."""
        left = 0.0
        for key in keys:
            until = self._locked_until.get(key)
            if until is not None:
                if until <= now:
                    del self._locked_until[key]
                else:
                    left = max(left, until - now)
        return left

    def failed(self, keys: list[str], now: float) -> list[str]:
        """Count a failure against each key; return the keys this failure locked."""
        locked = []
        for key in keys:
            limit = self.account_limit if key.startswith("account:") else self.address_limit
            times = self._failures.setdefault(key, deque())
            while times and now - times[0] > self.window:
                times.popleft()
            times.append(now)
            if len(times) >= limit:
                self._locked_until[key] = now + self.lock
                times.clear()
                locked.append(key)
        if len(self._failures) > 100_000:  # forget the quiet ones now and then
            self._failures = {
                k: t for k, t in self._failures.items() if t and now - t[-1] <= self.window
            }
        return locked

    def unlock(self, key: str) -> bool:
        """Forget a key's lock and failures (an admin unlocked it); whether it was locked."""
        self._failures.pop(key, None)
        return self._locked_until.pop(key, None) is not None

    def succeeded(self, key: str) -> None:
        """A correct password: that account's failures are forgotten."""
        self._failures.pop(key, None)
