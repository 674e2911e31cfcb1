"""``serve --processes N``: N server processes on this host, each a node.

The first process run (the supervisor) brings the schema up to date, then starts N
children, ``serve --node-index I``, and watches them: a child that dies is started again
after a second (its rooms have moved to the others by then; see ``registry``), and
SIGTERM or SIGINT stops them all, each finishing its recordings as one server does.

Every child listens on the shared port (``server.port``, SO_REUSEPORT: the kernel spreads
new connections over them) for pages and the API, and on a port of its own,
``server.port + 1 + I``, where the pages of the rooms it holds open their room sockets
(or the reverse proxy's ``/node/<id>/`` route leads). A configured UDP range for media is
split between them, one slice each.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import redis
from prometheus_client.multiprocess import mark_process_dead

from consult_server.cluster.nodes import NodeInfo, SocketRoute, route_for
from consult_server.cluster.registry import HEARTBEAT_SECONDS, PREFIX, node_channel, node_message

log = logging.getLogger(__name__)

RESTART_AFTER_SECONDS = 1.0


def node_port(port: int, index: int) -> int:
    """The port of node ``index`` of a host whose shared port is ``port``."""
    return port + 1 + index


def node_id(name: str, index: int | None, port: int) -> str:
    """``<name>-<index>`` for a child of ``serve --processes``; ``<name>-p<port>`` for a
    process started alone (several on one host differ by their ports)."""
    host = name or socket.gethostname().split(".")[0] or "node"
    safe = "".join(c if c.isalnum() or c == "-" else "-" for c in host.lower())
    return f"{safe}-{index}" if index is not None else f"{safe}-p{port}"


def this_route(node: str, port: int, routes: str) -> SocketRoute:
    return route_for(node, port, behind_proxy=routes == "proxy")


def udp_slice(low: int, high: int, index: int, count: int) -> tuple[int, int]:
    """Node ``index``'s share of the media UDP range ``low``-``high`` (0, 0: any port)."""
    if (low, high) == (0, 0) or count <= 1:
        return low, high
    size = (high - low + 1) // count
    if size < 2:
        raise ValueError(f"media.udp_port_min/max: {high - low + 1} ports for {count} processes")
    start = low + index * size
    return start, start + size - 1


def listening_sockets(host: str, port: int, own_port: int) -> list[socket.socket]:
    """The shared port (SO_REUSEPORT) and this node's own."""
    shared = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind((host, port))
    own = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.bind((host, own_port))
    return [shared, own]


class Supervisor:
    """Starts the children and keeps them running until told to stop. ``metrics_dir``:
    where they write their metrics for one another (emptied first)."""

    def __init__(
        self,
        argv: Sequence[str],
        count: int,
        metrics_dir: Path,
        rolling: RollingRestart | None = None,
    ) -> None:
        self.argv = list(argv)
        self.count = count
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.rolling = rolling
        self.restart_asked = False
        self.metrics_dir = metrics_dir
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(mode=0o700, parents=True)
        self.env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))

    def _start(self, index: int) -> None:
        command = [sys.executable, "-m", "consult_server", *self.argv, "--node-index", str(index)]
        self.children[index] = subprocess.Popen(command, env=self.env)  # noqa: S603
        log.info("node %d started (pid %d)", index, self.children[index].pid)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def _ask_restart(self, signum: int, frame: FrameType | None) -> None:
        self.restart_asked = True

    def _restart_all(self) -> None:
        """SIGHUP: every node in turn drained (its calls move to the others), stopped,
        started again and back in the registry, then the next."""
        assert self.rolling is not None
        for index in sorted(self.children):
            if self.stopping:
                return
            log.warning("rolling restart: node %d", index)
            self.rolling.drain(index)
            child = self.children[index]
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            mark_process_dead(child.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]
            self._start(index)
            self.rolling.wait_back(index, self.children[index])

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        if self.rolling is not None:
            signal.signal(signal.SIGHUP, self._ask_restart)
        for index in range(self.count):
            self._start(index)
        while not self.stopping:
            time.sleep(0.2)
            if self.restart_asked:
                self.restart_asked = False
                self._restart_all()
            for index, child in list(self.children.items()):
                code = child.poll()
                if code is not None and not self.stopping:
                    log.warning("node %d stopped (exit %s); starting it again", index, code)
                    mark_process_dead(child.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]
                    time.sleep(RESTART_AFTER_SECONDS)
                    if not self.stopping:
                        self._start(index)
        status = 0
        for child in self.children.values():
            try:
                code = child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                code = child.wait()
            status = status or (code if code not in (0, -signal.SIGTERM) else 0)
        return status


class RollingRestart:
    """What a rolling restart asks of the cluster (Redis): drain a node and wait until
    it holds no room, then wait until its successor is in the registry."""

    def __init__(self, redis_url: str, node_ids: Sequence[str], drain_seconds: float) -> None:
        self.redis_url = redis_url
        self.node_ids = list(node_ids)
        self.drain_seconds = drain_seconds

    def _record(self, client: redis.Redis, index: int) -> NodeInfo | None:
        text = client.get(f"{PREFIX}node:{self.node_ids[index]}")
        return NodeInfo.from_json(text) if text else None

    def drain(self, index: int) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.publish(node_channel(self.node_ids[index]), node_message("drain"))
            # Its record says draining, then its load (rooms + peers) falls to 0.
            deadline = time.monotonic() + self.drain_seconds + 3 * HEARTBEAT_SECONDS + 5
            while time.monotonic() < deadline:
                record = self._record(client, index)
                if record is None or (record.draining and record.load == 0):
                    return
                time.sleep(0.5)
            log.warning("node %d still held rooms after draining; stopping it", index)
        finally:
            client.close()

    def wait_back(self, index: int, child: subprocess.Popen[bytes], within: float = 60) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline and child.poll() is None:
                record = self._record(client, index)
                if record is not None and not record.draining:
                    return
                time.sleep(0.2)
            log.warning("node %d did not come back in the registry in time", index)
        finally:
            client.close()


def cores() -> int:
    return len(os.sched_getaffinity(0))
