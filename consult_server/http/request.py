"""Small helpers for handlers: a bounded JSON body, a safe redirect, a room's join token
and what its page offers with."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from consult_server.config import CONFIG
from consult_server.errors import BadRequest
from consult_server.http.security import current_user
from consult_server.http.slow_bodies import read_body
from signaling.tokens import JoinClaims, sign_join_token
from signaling.turn import TurnSettings, rtc_configuration

MAX_BODY = 16 * 1024


async def json_body(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest("request body is too large", "payload_too_large")
    raw = await read_body(request)
    if len(raw) > MAX_BODY:
        raise BadRequest("request body is too large", "payload_too_large")
    try:
        value = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise BadRequest("body is not valid JSON", "bad_json") from None
    try:
        # JSON may spell lone surrogates (\ud800) that no text column can hold.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the request holds text that is not valid Unicode", "bad_text") from None
    except RecursionError:
        raise BadRequest("body is not valid JSON", "bad_json") from None
    return value


def safe_next(value: object) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    return parts.path if not parts.netloc else "/"


def _claims(request: web.Request, room: str, role: str) -> JoinClaims:
    """The signed-in user in ``room`` as ``role``, for ``security.join_token_seconds``."""
    expires = time.time() + request.app[CONFIG].security.join_token_seconds
    return JoinClaims(current_user(request).id, room, role, expires)


def join_token(request: web.Request, room: str, role: str) -> str:
    """A signed join token for the signed-in user and this room, valid for
    ``security.join_token_seconds``."""
    return sign_join_token(request.app[CONFIG].secret_bytes(), _claims(request, room, role))


def room_entry(
    request: web.Request, room: str, role: str, *, pairs: int, layered: bool
) -> dict[str, Any]:
    """A room page's way in: its join token, and what the page needs to build its offer
    before it joins, so that the offer goes with the join (``call``): the ICE
    configuration the join would give (TURN credentials expiring with the token), how
    many others' pictures to receive, and whether the server will ask for the camera in
    layers. A wrong guess costs what it did before: the page offers again after the
    join."""
    config = request.app[CONFIG]
    media = config.media
    claims = _claims(request, room, role)
    turn = TurnSettings(media.turn_urls, media.turn_secret)
    ice = rtc_configuration(turn, media.ice_transport_policy, claims.user_id, claims.expires_at)
    return {
        "join_token": sign_join_token(config.secret_bytes(), claims),
        "call": {"ice": ice, "pairs": max(1, pairs), "simulcast": layered and media.simulcast},
    }
