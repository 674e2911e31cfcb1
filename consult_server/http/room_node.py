"""Where a page opens its room's socket: on the node that holds the room.

The room page is given it (``data-socket``) so the call starts without asking; a page
whose room moved (its node died or drains, or the socket says ``room_elsewhere``) asks
again here with its join token, and reconnects where it is told.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from consult_server.cluster.registry import REGISTRY, NoLiveNode
from consult_server.config import CONFIG
from consult_server.errors import BadRequest, Busy, Forbidden
from consult_server.http.request import json_body
from consult_server.http.security import CSP, current_user, requires
from signaling.handlers import SIGNALING
from signaling.room_kinds import parse_room_key
from signaling.tokens import TokenRefused, verify_join_token

routes = web.RouteTableDef()


async def room_socket(request: web.Request, room: str, watch_here: bool = False) -> dict[str, Any]:
    """The route to ``room``'s socket (placing the room if no live node holds it);
    ``watch_here``: a teaching session's viewer, who watches from this very node (the
    room's media relayed to it), so the viewers spread as their pages do."""
    registry = request.app[REGISTRY]
    if watch_here and registry.takes_rooms:
        return registry.here().route.for_page()
    try:
        node = await registry.place(room)
    except NoLiveNode:
        raise Busy("no server node takes new rooms now; try again in a moment") from None
    return node.route.for_page()


@routes.post("/api/rooms/where")
@requires()
async def where(request: web.Request) -> web.Response:
    body = await json_body(request)
    token = body.get("join_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or len(token) > 2048:
        raise BadRequest("join_token is required", "bad_request")
    try:
        claims = verify_join_token(request.app[CONFIG].secret_bytes(), token, time.time())
    except TokenRefused as exc:
        raise Forbidden(exc.message, exc.code) from None
    if claims.user_id != current_user(request).id:
        raise Forbidden("this join token is not yours", "token_invalid")
    kind = request.app[SIGNALING].kinds.get(parse_room_key(claims.room)[0])
    watch_here = kind is not None and kind.relayed and claims.role == "viewer"
    return web.json_response({"socket": await room_socket(request, claims.room, watch_here)})


def allow_node_ports(request: web.Request, response: web.Response) -> web.Response:
    """A room page's policy, when rooms' sockets may be on this host's other ports
    (``serve --processes`` without a proxy): WebSockets to any port of the page's host."""
    config = request.app[CONFIG]
    if not config.redis.url or config.server.node_routes != "port":
        return response
    host = request.url.raw_host or ""
    if not all(c.isalnum() or c in ".-:[]" for c in host) or not host:
        return response
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    sockets = f"ws://{host}:* wss://{host}:*"
    response.headers["Content-Security-Policy"] = CSP.replace(
        "connect-src 'self'", f"connect-src 'self' {sockets}"
    )
    return response
