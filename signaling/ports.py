"""What the signaling edge receives from the composition root, as small types.

``signaling`` imports nothing from ``consult_server``: who is signed in, who a user is,
and the settings it needs are handed to ``Signaling`` when the application is wired
(``consult_server/app.py``). The room kinds are ``signaling.room_kinds.RoomKind``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from signaling.turn import TurnSettings


@dataclass(frozen=True)
class Person:
    """A signed-in user as the room shows them."""

    id: int
    name: str
    #: "clinician", "specialist", "supervisor" or "admin".
    role: str
    #: Names the login session the socket was opened with (its sockets close with it).
    login: str = ""


class People(Protocol):
    async def signed_in(self, cookie_header: str) -> Person | None:
        """The user whose login session the request's Cookie header carries."""
        ...

    async def person(self, user_id: int) -> Person | None: ...


class NoAnswer(Exception):
    """The node asked did not answer (gone, or too slow)."""


class Placement(Protocol):
    """Which node holds which room (several processes: a Redis registry), and the
    questions and messages nodes send one another about rooms."""

    @property
    def node_id(self) -> str: ...

    async def holds_here(self, room: str) -> bool:
        """Is ``room`` held by this process (placing it here if no live node holds it)?"""
        ...

    async def holder(self, room: str) -> str | None:
        """The node holding ``room`` (placing it if none does); None: no node lives."""
        ...

    async def forward(self, room: str, what: str) -> bool:
        """Tell the process holding ``room``, if another, that ``what`` changed; False
        when it is held here (or nowhere): the caller acts itself."""
        ...

    async def ask(self, node: str, room: str, request: dict[str, Any]) -> dict[str, Any]:
        """Ask ``node`` about ``room``; its answer (NoAnswer when none comes)."""
        ...

    async def tell_node(self, node: str, what: str, room: str = "") -> int:
        """Tell ``node`` that ``what`` happened (about ``room``); how many heard it."""
        ...

    async def online_elsewhere(self) -> set[int]:
        """Users with a page open on the other processes."""
        ...


class AlwaysHere:
    """One process alone holds every room."""

    node_id = "local"

    async def holds_here(self, room: str) -> bool:
        return True

    async def holder(self, room: str) -> str | None:
        return self.node_id

    async def forward(self, room: str, what: str) -> bool:
        return False

    async def ask(self, node: str, room: str, request: dict[str, Any]) -> dict[str, Any]:
        raise NoAnswer(node)

    async def tell_node(self, node: str, what: str, room: str = "") -> int:
        return 0

    async def online_elsewhere(self) -> set[int]:
        return set()


@dataclass(frozen=True)
class SignalingSettings:
    #: The join tokens' signing secret (config ``security.secret_key``).
    secret: bytes
    #: socket.io's Redis manager when set (several processes share the emits).
    redis_url: str = ""
    #: How long a dropped participant's seat is kept.
    room_grace_seconds: float = 120.0
    #: STUN/TURN servers of the server's own peers (the pre-join connection test).
    server_ice_servers: tuple[str, ...] = ()
    #: TURN handed to browsers, with short-lived credentials.
    turn: TurnSettings = field(default_factory=TurnSettings)
    #: "all" or "relay" (force TURN).
    ice_transport_policy: str = "all"
    #: Ask a lesson's presenters (and rooms of three or more) for simulcast.
    simulcast: bool = True
    #: Pages may open room sockets on this host's other ports (``serve --processes``
    #: without a proxy): their origin is then the page's host with another port.
    any_port_of_host: bool = False
