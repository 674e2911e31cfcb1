"""The one exception base: a stable ``code`` and an English ``message``.

Every error a person can meet carries a code the browser translates
(``errors.<code>`` in ``web/translations``); the message is the English fallback and
what the log shows. Messages never contain patient text, passwords or tokens.

It lives here, at the bottom of the import graph, because every layer raises errors
that reach the browser: the HTTP tree (``consult_server.errors``), the signaling edge
(``BadMessage``, ``RoomRefused``, ``TokenRefused``) and the media server
(``MediaError``) all derive from it.
"""

from __future__ import annotations


class ConsultServerError(Exception):
    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
