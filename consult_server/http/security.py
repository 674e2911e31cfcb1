"""Access control at the HTTP edge: default deny.

Every handler declares who may call it with :func:`public` or :func:`requires`; a
handler that declares nothing is refused (403), so forgetting a check fails closed.
Unsafe methods need the CSRF token: the login session's for signed-in users, or the
double-submit ``consult_csrf`` cookie for the anonymous login and language forms.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web import RequestKey

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.login_sessions import COOKIE_NAME, LOGIN_SESSIONS
from consult_server.accounts.models import LoginSession, Role, User
from consult_server.config import CONFIG
from consult_server.errors import (
    ClientError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ScreenLocked,
    TooManyRequests,
)
from consult_server.http.rate_limits import RATE_LIMITS
from consult_server.http.slow_bodies import read_body, read_form

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)
PRE_CSRF_COOKIE = "consult_csrf"
LANG_COOKIE = "consult_lang"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
#: What a login whose screen is locked may still do: be kept alive (an on-duty page),
#: be asked about, be unlocked or signed out, and change the page's language.
_OPEN_WHILE_LOCKED = frozenset(
    {
        "/api/session",
        "/api/session/keepalive",
        "/api/session/lock",
        "/api/session/unlock",
        "/unlock",
        "/logout",
        "/language",
    }
)
_ACCESS = "_consult_access"

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; style-src 'self'; script-src 'self' 'inline-speculation-rules'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def public(handler: Handler) -> Handler:
    setattr(handler, _ACCESS, ())
    return handler


def requires(*roles: Role) -> Callable[[Handler], Handler]:
    """Allow signed-in users of these roles (any role when none is named)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _ACCESS, tuple(roles) or tuple(Role))
        return handler

    return mark


def current_user(request: web.Request) -> User:
    user: User | None = request.get(USER)
    if user is None:
        raise NotAuthenticated("please sign in", "not_authenticated")
    return user


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def cookie_secure(request: web.Request) -> bool:
    mode = request.app[CONFIG].server.cookie_secure
    return mode == "always" or (mode == "auto" and request.secure)


def _pre_session_token(request: web.Request, pre_session: str) -> str:
    """The form token of a browser not signed in: bound to its pre-session cookie by the
    server's secret, so a value planted in both cookie and form (cookie tossing from a
    sibling host) is not enough: it must come from this server for this cookie."""
    key = request.app[CONFIG].secret_bytes()
    mac = hmac.new(key, b"pre-session:" + pre_session.encode(), "sha256")
    return mac.hexdigest()[:48]


def ensure_pre_csrf(request: web.Request, response: web.StreamResponse) -> str:
    pre_session = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response.set_cookie(
        PRE_CSRF_COOKIE,
        pre_session,
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
        path="/",
    )
    return _pre_session_token(request, pre_session)


async def _check_csrf(request: web.Request) -> None:
    # A browser says where a request comes from: nothing from another site is taken,
    # whatever token it carries (old browsers send no header and rely on the token).
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        raise Forbidden("this form was sent from another site", "csrf_failed")
    login = request.get(LOGIN)
    pre_session = request.cookies.get(PRE_CSRF_COOKIE)
    if login is not None:
        expected: str | None = login.csrf_token
    else:
        expected = _pre_session_token(request, pre_session) if pre_session else None
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("the form has expired; reload the page and try again", "csrf_failed")


def _metered(request: web.Request) -> bool:
    """Counted against the request-rate limits: all but static files, the health
    check, and file uploads (a CT series is hundreds of files in a minute; uploads have
    their own bounds: size and count per consult)."""
    if request.path.startswith("/static/") or request.path == "/healthz":
        return False
    return not _is_upload(request)


def _is_upload(request: web.Request) -> bool:
    return request.method == "POST" and _UPLOAD.fullmatch(request.path) is not None


_UPLOAD = re.compile(r"/api/consults/\d{1,12}/files")


def _static_or_io(request: web.Request) -> bool:
    return request.path.startswith(("/static/", "/socket.io/"))


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    app = request.app
    token = request.cookies.get(COOKIE_NAME, "")
    login = await app[LOGIN_SESSIONS].get(token) if token else None
    user = await app[ACCOUNTS].user(login.user_id) if login else None
    request[LOGIN] = login if user else None
    request[USER] = user
    # Asking when the login ends (the idle warning) is not a use of it.
    looked = request.path == "/api/session"
    if login and user and not looked and app[LOGIN_SESSIONS].due_for_touch(login, time.time()):
        expires = await app[LOGIN_SESSIONS].touch(token, login)
        request[LOGIN] = login = dataclasses.replace(login, expires_at=expires)
    if _metered(request):
        limits = app[RATE_LIMITS]
        if user is not None:
            await limits.check("per_user", str(user.id))
        else:
            await limits.check("per_address", request.remote or "")
    if _static_or_io(request) or request.match_info.http_exception is not None:
        # Static files, socket.io (checks its own), and the router's 404/405.
        return await handler(request)
    access: Any = getattr(handler, _ACCESS, None)
    if access is None:
        raise Forbidden("this address is not open", "forbidden")
    if access:
        if user is None:
            if wants_json(request):
                raise NotAuthenticated("please sign in", "not_authenticated")
            raise web.HTTPFound("/login?next=" + request.path)
        if user.role not in access:
            raise Forbidden("your role may not do this", "wrong_role")
        if login is not None and login.locked and request.path not in _OPEN_WHILE_LOCKED:
            raise ScreenLocked("this screen is locked; type your password", "screen_locked")
    if request.method not in _SAFE:
        if request.can_read_body and not _is_upload(request):
            # Streamed uploads watch their own pace. A multipart form (a CSV chosen
            # in a page) is parsed whole here, in time: aiohttp parses it from the
            # stream, so reading the raw body first would leave nothing to parse.
            if request.content_type == "multipart/form-data":
                await read_form(request)
            else:
                await read_body(request)
        await _check_csrf(request)
    return await handler(request)


def _secure_headers(request: web.Request, headers: Any) -> None:
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self)")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if request.scheme == "https":  # directly, or as a trusted proxy says
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every response carries them: pages, redirects, errors (raised ones included)."""
    try:
        response = await handler(request)
    except web.HTTPException as raised:  # redirects and the router's 404/405
        _secure_headers(request, raised.headers)
        raise
    except Exception:
        log.exception("unhandled error for %s %s", request.method, request.path)
        response = web.Response(status=500, text="internal server error")
    _secure_headers(request, response.headers)
    return response


def error_middleware_factory(
    render_error: Callable[[web.Request, ClientError], Awaitable[web.StreamResponse]],
) -> Any:
    async def answer(request: web.Request, exc: ClientError) -> web.StreamResponse:
        if wants_json(request):
            response: web.StreamResponse = web.json_response(
                {"error": exc.to_dict()}, status=exc.status
            )
        else:
            response = await render_error(request, exc)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ClientError as exc:
            return await answer(request, exc)
        except web.HTTPNotFound:
            if request.path.startswith(("/static/", "/socket.io/")):
                raise
            # No page here: said in the page's language, with the header and a way home.
            return await answer(
                request, NotFound("there is no page at this address", "page_not_found")
            )

    return error_middleware


#: The signed-in user of a request (None when anonymous) and their login session.
USER: RequestKey[User | None] = RequestKey("user")
LOGIN: RequestKey[LoginSession | None] = RequestKey("login")
