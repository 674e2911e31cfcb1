"""``/metrics``: the server seen from outside, in Prometheus's text format.

Per node (label ``node``): rooms, participants, tracks published and forwarded, teaching
rooms relayed here and this node's rooms relayed elsewhere, frames
and bytes taken in and handed on, key-frame requests, the time a join takes (a
histogram), the event loop's lag, the database's statement times (a histogram) and
whether Redis answers. Gauges and the media totals are brought up to date every
``UPDATE_SECONDS``; the histograms as things happen.

Under ``serve --processes N`` every process writes its values to files in one directory
(prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, set by the
supervisor): a scrape of any process returns every node of the host.

Readable from ``metrics.allowed_networks`` (the host itself by default) or with
``Authorization: Bearer <metrics.token>``; anyone else gets 403, and nothing here names
a patient, a user or a room.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import ipaddress
import os
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from consult_server.cluster.registry import REGISTRY, RedisRegistry
from consult_server.config import CONFIG
from consult_server.errors import Forbidden
from consult_server.http.loop_lag import LOOP_LAG
from consult_server.http.security import public
from media import latency
from media.forwarding import TOTALS
from media.hub import MediaHub
from media.latency import BUCKETS as FORWARD_BUCKETS
from media.latency import FORWARD_LATENCY
from signaling.handlers import SIGNALING

UPDATE_SECONDS = 2.0
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

routes = web.RouteTableDef()


class Metrics:
    """This process's metrics, labelled with its node."""

    def __init__(self, node: str, media: MediaHub) -> None:
        self.node = node
        self.media = media
        self.registry = CollectorRegistry()
        labels = ("node",)

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, labels, registry=self.registry, multiprocess_mode="livesum")

        def counter(name: str, text: str) -> Counter:
            return Counter(name, text, labels, registry=self.registry)

        self.rooms = gauge("consult_rooms", "Rooms whose media this node holds")
        self.participants = gauge("consult_participants", "Peers connected to this node")
        self.published = gauge("consult_tracks_published", "Tracks published to this node")
        self.forwarded = gauge("consult_tracks_forwarded", "Subscriptions this node forwards")
        self.loop_lag = gauge(
            "consult_event_loop_lag_p99_seconds", "Event loop lag, 99th percentile, last minute"
        )
        self.redis_up = gauge("consult_redis_up", "1 when Redis answered the last heartbeat")
        self.relayed = gauge(
            "consult_rooms_relayed", "Teaching rooms this node relays from their origin"
        )
        self.relays_out = gauge("consult_relays_served", "Other nodes' relays of this node's rooms")
        self.frames_in = counter("consult_media_frames_received", "Encoded frames taken in")
        self.bytes_in = counter("consult_media_received_bytes", "Encoded bytes taken in")
        self.frames_out = counter("consult_media_frames_forwarded", "Encoded frames handed on")
        self.bytes_out = counter("consult_media_forwarded_bytes", "Encoded bytes handed on")
        self.keyframe_requests = counter(
            "consult_keyframe_requests", "Key-frame requests sent to publishers"
        )
        self.join_seconds = Histogram(
            "consult_join_seconds",
            "Time to answer a room join",
            labels,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.forward_latency = Histogram(
            "consult_forward_latency_seconds",
            "From a media packet's arrival to its last copy sent",
            labels,
            registry=self.registry,
            buckets=FORWARD_BUCKETS,
        )
        self.db_seconds = Histogram(
            "consult_database_statement_seconds",
            "Time of one database statement",
            labels,
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        # Every series from the start (0), not from its first change.
        for metric in (
            self.rooms,
            self.participants,
            self.published,
            self.forwarded,
            self.loop_lag,
            self.redis_up,
            self.relayed,
            self.relays_out,
            self.frames_in,
            self.bytes_in,
            self.frames_out,
            self.bytes_out,
            self.keyframe_requests,
            self.join_seconds,
            self.forward_latency,
            self.db_seconds,
        ):
            metric.labels(node)
        # The media path's totals (media.forwarding.MediaTotals), counted from now: the
        # process may have run other apps before (tests).
        self._totals_counters = {
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "frames_out": self.frames_out,
            "bytes_out": self.bytes_out,
            "keyframe_requests": self.keyframe_requests,
        }
        self._seen = dataclasses.asdict(TOTALS)
        self._seen_latency = FORWARD_LATENCY.snapshot()

    def take_totals(self) -> None:
        """Add what the media path counted since the last look."""
        now = dataclasses.asdict(TOTALS)
        for key, counter in self._totals_counters.items():
            if now[key] > self._seen[key]:
                counter.labels(self.node).inc(now[key] - self._seen[key])
        self._seen = now
        counts, total = FORWARD_LATENCY.snapshot()
        added = latency.since(counts, self._seen_latency[0])
        if any(added):
            # The hot path counts into plain integers (media.latency); its buckets are
            # this histogram's, so the counts are added bucket by bucket.
            child = self.forward_latency.labels(self.node)
            for bucket, count in zip(child._buckets, added, strict=True):
                if count:
                    bucket.inc(count)
            child._sum.inc(total - self._seen_latency[1])
        self._seen_latency = (counts, total)

    def observe_event(self, name: str, seconds: float) -> None:
        """Signaling's observer: each handled socket event and its time."""
        if name == "room:join":
            self.join_seconds.labels(self.node).observe(seconds)

    def observe_statement(self, seconds: float) -> None:
        """The database's observer: each statement's time."""
        self.db_seconds.labels(self.node).observe(seconds)

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROCESS_DIR):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


async def keep_metrics(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: gauges and totals kept up to date while it runs."""

    async def update() -> None:
        while True:
            await refresh(app)
            await asyncio.sleep(UPDATE_SECONDS)

    task = asyncio.create_task(update())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def refresh(app: web.Application) -> None:
    metrics = app[METRICS]
    node, media = metrics.node, metrics.media
    stats = media.stats()
    published, forwarded = media.tracks()
    metrics.rooms.labels(node).set(stats["rooms"])
    metrics.participants.labels(node).set(stats["peers"])
    metrics.published.labels(node).set(published)
    metrics.forwarded.labels(node).set(forwarded)
    metrics.loop_lag.labels(node).set(app[LOOP_LAG].summary()["p99"] / 1000)
    relays = app[SIGNALING].relays
    metrics.relayed.labels(node).set(len(relays.edges))
    metrics.relays_out.labels(node).set(sum(len(r) for r in relays.origins.values()))
    registry = app[REGISTRY]
    if isinstance(registry, RedisRegistry):
        metrics.redis_up.labels(node).set(1 if registry.redis_answered else 0)
    metrics.take_totals()


def allowed(request: web.Request) -> bool:
    config = request.app[CONFIG].metrics
    header = request.headers.get("Authorization", "")
    if config.token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].encode(), config.token.encode())
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in config.allowed_networks)


@routes.get("/metrics")
@public
async def metrics_page(request: web.Request) -> web.Response:
    if not allowed(request):
        raise Forbidden(
            "metrics are read from metrics.allowed_networks or with the token", "metrics_denied"
        )
    await refresh(request.app)
    body = await asyncio.to_thread(request.app[METRICS].exposition)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
