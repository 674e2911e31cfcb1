"""The media layer's refusals: a code and a message for the participant's page."""

from __future__ import annotations

from web.errors import ConsultServerError


class MediaError(ConsultServerError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)
