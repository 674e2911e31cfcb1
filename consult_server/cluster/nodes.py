"""A node as the cluster sees it, and where a page reaches its room's socket.

A node is one server process. It hosts the media of the rooms placed on it (aiortc
cannot move a peer between processes), so every page of a room must open its room
socket on that node. How a page reaches a node's socket depends on what stands in
front of the servers:

- behind a reverse proxy (``docs/deploy.md``), each node has a route of its own,
  ``/node/<id>/socket.io``, which the proxy sends to that node's port;
- without one (``serve --processes N`` on one host), the page connects to the node's own
  port on the host it loaded the page from.

One process alone (the default) is its own only node, reached where the page came from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SocketRoute:
    """Where a page opens a node's room socket. Both empty: where the page came from."""

    #: socket.io's path through the proxy, e.g. "/node/h1-2/socket.io".
    path: str = ""
    #: The node's own port on the page's host (no proxy).
    port: int = 0

    def for_page(self) -> dict[str, Any]:
        """What the room page is given (``data-socket``)."""
        return {key: value for key, value in asdict(self).items() if value}


@dataclass(frozen=True)
class NodeInfo:
    id: str
    route: SocketRoute
    #: Rooms it hosts plus the peers in them: new rooms go to the lowest.
    load: int = 0
    #: Takes no new rooms (``consult-server drain``, SIGTERM).
    draining: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "path": self.route.path,
                "port": self.route.port,
                "load": self.load,
                "draining": self.draining,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> NodeInfo:
        data = json.loads(text)
        return cls(
            id=str(data["id"]),
            route=SocketRoute(path=str(data.get("path", "")), port=int(data.get("port", 0))),
            load=int(data.get("load", 0)),
            draining=bool(data.get("draining", False)),
        )


def route_for(node_id: str, port: int, behind_proxy: bool) -> SocketRoute:
    """The route a node advertises."""
    if behind_proxy:
        return SocketRoute(path=f"/node/{node_id}/socket.io")
    return SocketRoute(port=port)
