"""Short-lived TURN credentials by coturn's REST scheme (``use-auth-secret``).

The username is ``<expiry unix time>:<user id>`` and the password the base64 HMAC-SHA1
of that username under the secret shared with coturn (``static-auth-secret``). coturn
checks both and refuses an expired username, so a browser holds a credential only for
as long as its join token, and no account is ever provisioned on the TURN server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TurnSettings:
    #: TURN URLs given to browsers; none: no TURN.
    urls: tuple[str, ...] = ()
    #: coturn's ``static-auth-secret``.
    secret: str = ""


def ice_servers(turn: TurnSettings, user_id: int, expires: float) -> list[dict[str, Any]]:
    """The browser's ``RTCConfiguration.iceServers``: empty unless TURN is configured."""
    if not turn.urls:
        return []
    username = f"{int(expires)}:{user_id}"
    digest = hmac.new(turn.secret.encode(), username.encode(), hashlib.sha1).digest()
    return [
        {
            "urls": list(turn.urls),
            "username": username,
            "credential": base64.b64encode(digest).decode("ascii"),
        }
    ]


def rtc_configuration(
    turn: TurnSettings, policy: str, user_id: int, expires: float
) -> dict[str, Any]:
    """What a page builds its peer connection with: ICE servers and transport policy."""
    return {"ice_servers": ice_servers(turn, user_id, expires), "policy": policy}
