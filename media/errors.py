"""The one exception base, and the media layer's refusals.

Every error a person can meet carries a stable ``code`` the browser translates
(``errors.<code>`` in ``web/translations``); the ``message`` is the English fallback and
what the log shows. Messages never contain patient text, passwords or tokens.

The base lives here because ``media`` is the lowest package that raises errors which
reach a browser; every layer above derives from it: the HTTP tree
(``consult_server.errors``), the signaling edge (``BadMessage``, ``RoomRefused``,
``TokenRefused``) and the media server's own ``MediaError``.
"""

from __future__ import annotations


class ConsultServerError(Exception):
    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class MediaError(ConsultServerError):
    """An offer or candidate the media server refuses (``bad_sdp``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)
