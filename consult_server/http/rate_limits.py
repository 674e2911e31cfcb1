"""Request-rate limits per user and per address (issue 11).

Counted with ``limits`` (sliding-window counters, a well-kept library) in this process,
or in Redis when ``redis.url`` is set so that every process shares one count. Static
files are not counted; everything else is: per signed-in user, or per client address
(as the trusted proxy tells it) before signing in. Filing a consult has its own, lower
limit. Past a limit: 429 ``rate_limited`` with Retry-After.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp.web import AppKey
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from consult_server.errors import TooManyRequests


@dataclass(frozen=True)
class RateRules:
    per_user: RateLimitItem
    per_address: RateLimitItem
    new_consults: RateLimitItem

    @classmethod
    def of(cls, per_user: int, per_address: int, consults_per_hour: int) -> RateRules:
        return cls(
            RateLimitItemPerMinute(per_user),
            RateLimitItemPerMinute(per_address),
            RateLimitItemPerHour(consults_per_hour),
        )


class RateLimits:
    def __init__(self, rules: RateRules, redis_url: str = "") -> None:
        self.rules = rules
        if redis_url:  # the redis-py client the rest of the server uses
            storage = storage_from_string(
                "async+" + redis_url, implementation="redispy", key_prefix="consult-rate"
            )
        else:
            storage = storage_from_string("async+memory://")
        assert isinstance(storage, Storage)  # the async+ scheme gives the async kind
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    async def check(self, rule: str, key: str) -> None:
        """Count one request for ``key`` under ``rule``; TooManyRequests past the limit."""
        item: RateLimitItem = getattr(self.rules, rule)
        if await self.limiter.hit(item, rule, key):
            return
        stats = await self.limiter.get_window_stats(item, rule, key)
        raise TooManyRequests(max(1, math.ceil(stats.reset_time - time.time())))


RATE_LIMITS: AppKey[RateLimits] = AppKey("rate_limits")
