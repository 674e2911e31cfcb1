"""Room join tokens: HMAC-SHA256 signed, expiring, bound to user, room and role.

Format: ``base64url(json claims) "." base64url(hmac)``. Verification is constant-time
and checks every claim; the token itself is never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from media.errors import ConsultServerError


class TokenRefused(ConsultServerError):
    """A join token that is malformed, forged or expired (``token_invalid`` /
    ``token_expired``)."""

    code = "token_invalid"


@dataclass(frozen=True)
class JoinClaims:
    user_id: int
    #: The room: "consult:<id>" or "teaching:<id>".
    room: str
    role: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_join_token(secret: bytes, claims: JoinClaims) -> str:
    body = json.dumps(
        {"u": claims.user_id, "m": claims.room, "r": claims.role, "e": claims.expires_at},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(secret, b"join:" + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def verify_join_token(secret: bytes, token: object, now: float) -> JoinClaims:
    """Return the claims of a valid token or raise ``TokenRefused`` with a precise code."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
        raise TokenRefused("join token is malformed", "token_invalid")
    body_text, mac_text = token.split(".")
    try:
        body = _unb64(body_text)
        mac = _unb64(mac_text)
    except (ValueError, TypeError):
        raise TokenRefused("join token is malformed", "token_invalid") from None
    expected = hmac.new(secret, b"join:" + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise TokenRefused("join token signature is wrong", "token_invalid")
    try:
        raw = json.loads(body)
        claims = JoinClaims(int(raw["u"]), str(raw["m"]), str(raw["r"]), float(raw["e"]))
    except (ValueError, KeyError, TypeError):
        raise TokenRefused("join token is malformed", "token_invalid") from None
    if now >= claims.expires_at:
        raise TokenRefused("join token has expired; reopen the room page", "token_expired")
    return claims
