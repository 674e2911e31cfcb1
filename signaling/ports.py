"""What the signaling edge receives from the composition root, as small types.

``signaling`` imports nothing from ``consult_server``: who is signed in, who a user is,
and the settings it needs are handed to ``Signaling`` when the application is wired
(``consult_server/app.py``). The room kinds are ``signaling.room_kinds.RoomKind``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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
