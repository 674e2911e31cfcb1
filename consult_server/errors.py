"""The one exception tree. Every error a client can cause has a stable code.

    ConsultServerError           media/errors.py: ``code`` is stable, ``message`` English
    ├── MediaError               media/errors.py: an offer or candidate refused (bad_sdp)
    ├── BadMessage               signaling/messages.py: a socket payload refused
    ├── RoomRefused              signaling/room.py: a join the room's rules refuse
    ├── TokenRefused             signaling/tokens.py: a join token bad, expired, not yours
    ├── ConfigError              a bad setting at start-up (names key, value, expectation)
    └── ClientError              caused by a request; ``status`` is the HTTP status
        ├── BadRequest           malformed or oversized input            (400)
        ├── NotAuthenticated     no valid login session                  (401)
        ├── Forbidden            wrong role, facility or token           (403)
        ├── NotFound             no such object, or not visible to you   (404)
        ├── Conflict             illegal in the object's current state   (409)
        ├── Gone                 deleted for good (retention)            (410)
        ├── TooLarge             past a size limit (an upload)           (413)
        └── Unsupported          content of a kind not accepted          (415)

The UI translates ``code`` (``errors.<code>`` in web/translations); the English message
is a fallback. Messages never contain patient text, passwords or tokens.
"""

from __future__ import annotations

from typing import Any

from media.errors import ConsultServerError


class ConfigError(ConsultServerError):
    code = "bad_config"

    def __init__(self, key: str, value: Any, expected: str) -> None:
        super().__init__(f"setting {key} = {value!r} is invalid: expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected


class ClientError(ConsultServerError):
    status = 400

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class BadRequest(ClientError):
    status = 400
    code = "bad_request"


class NotAuthenticated(ClientError):
    status = 401
    code = "not_authenticated"


class Forbidden(ClientError):
    status = 403
    code = "forbidden"


class NotFound(ClientError):
    status = 404
    code = "not_found"


class Conflict(ClientError):
    status = 409
    code = "conflict"


class Gone(ClientError):
    status = 410
    code = "gone"


class TooManyRequests(ClientError):
    """Past a rate limit; ``retry_after`` seconds until it lets requests through again."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


class Throttled(ClientError):
    """Too many wrong passwords for one account or address: wait (a sign-in's lock)."""

    status = 429
    code = "login_locked"


class ScreenLocked(ClientError):
    """The login's screen is locked: nothing of a patient until its owner unlocks it."""

    status = 423
    code = "screen_locked"


class Busy(ClientError):
    status = 503
    code = "busy"


class TooLarge(ClientError):
    status = 413
    code = "too_large"


class Unsupported(ClientError):
    status = 415
    code = "unsupported"
