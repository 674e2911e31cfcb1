"""The one exception tree. Every error a client can cause has a stable code.

    ConsultServerError           media/errors.py: ``code`` is stable, ``message`` English
    ├── MediaError               media/errors.py: an offer or candidate refused (bad_sdp)
    ├── BadMessage               signaling/messages.py: a socket payload refused
    ├── RoomRefused              signaling/room.py: a join the room's rules refuse
    ├── TokenRefused             signaling/tokens.py: a join token bad, expired, not yours
    ├── ConfigError              a bad setting at start-up (names key, value, expectation)
    └── ClientError              caused by a request; ``status`` is the HTTP status
        ├── BadRequest           malformed or oversized input            (400)
        │   └── FieldErrors      several fields of a form at once, each its own code
        ├── NotAuthenticated     no valid login session                  (401)
        ├── Forbidden            wrong role, facility or token           (403)
        ├── NotFound             no such object, or not visible to you   (404)
        ├── Conflict             illegal in the object's current state   (409)
        ├── Gone                 deleted for good (retention)            (410)
        ├── ScreenLocked         the login's screen is locked            (423)
        ├── Throttled            too many wrong passwords                (429)
        ├── Busy                 the password hashing is full            (503)
        ├── TooLarge             past a size limit (an upload)           (413)
        └── Unsupported          content of a kind not accepted          (415)

The UI translates ``code`` (``errors.<code>`` in web/translations); the English message
is a fallback. Messages never contain patient text, passwords or tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from media.errors import ConsultServerError

T = TypeVar("T")


class ConfigError(ConsultServerError):
    code = "bad_config"

    def __init__(self, key: str, value: Any, expected: str) -> None:
        super().__init__(f"setting {key} = {value!r} is invalid: expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected


class ClientError(ConsultServerError):
    status = 400
    #: Numbers the page's message fills in (a limit, what is left): never patient data.
    params: dict[str, Any] | None = None

    def with_params(self, **params: Any) -> ClientError:
        self.params = params
        return self

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.params:
            found["params"] = self.params
        return found


class BadRequest(ClientError):
    status = 400
    code = "bad_request"


class FieldErrors(BadRequest):
    """Every wrong field of a form at once, each with its own code and message, so the
    page shows them all in one round trip (on a weak link, each is seconds). The error's
    own code and message are the first field's unless given."""

    def __init__(
        self, fields: Mapping[str, ClientError], message: str = "", code: str = ""
    ) -> None:
        first = next(iter(fields.values()))
        super().__init__(message or first.message, code or first.code)
        self.fields = dict(fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "fields": {
                name: {"code": e.code, "message": e.message} for name, e in self.fields.items()
            },
        }


class FieldChecks:
    """Run each field's check and keep every refusal: ``take`` gives the value (None
    when refused), ``done`` raises them all as one :class:`FieldErrors`. A check that
    refuses several fields of its own (a nested object) has them named ``field.sub``."""

    def __init__(self) -> None:
        self.errors: dict[str, ClientError] = {}

    def take(self, field: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except FieldErrors as many:
            self.errors.update({f"{field}.{name}": e for name, e in many.fields.items()})
        except ClientError as one:
            self.errors[field] = one
        return None

    def done(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


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
