"""How long the media path holds a packet: from its arrival (the datagram handed to
the process) to its last copy sent, over every subscriber (LiveKit's
``forward_latency``). Counted in fixed buckets from 50 µs up: one ``bisect`` and one
addition per packet; /metrics and the benchmark read the counts."""

from __future__ import annotations

from bisect import bisect_left

#: Upper bounds of the buckets, in seconds (the last bucket is everything above).
BUCKETS = (50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3)


class LatencyHistogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds

    def snapshot(self) -> tuple[list[int], float]:
        return list(self.counts), self.sum


def quantile(counts: list[int], q: float) -> float | None:
    """The ``q`` quantile of bucket ``counts``, interpolated within its bucket (as
    Prometheus's ``histogram_quantile``); None when nothing was counted."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = BUCKETS[index - 1] if index else 0.0
            if index >= len(BUCKETS):
                return BUCKETS[-1]
            return low + (BUCKETS[index] - low) * (rank - seen) / count
        seen += count
    return BUCKETS[-1]


def since(now: list[int], before: list[int]) -> list[int]:
    return [a - b for a, b in zip(now, before, strict=True)]


#: The process's own (one media hub per process).
FORWARD_LATENCY = LatencyHistogram()
