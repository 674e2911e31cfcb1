"""The HTTP access log: method, path, status, size and time; never a query string or a
Referer. aiohttp's default line holds both, and a page's address can carry what a
person typed (a form that submitted natively put the patient's case summary there), and
socket.io's polling requests carry their session id in the query."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )
