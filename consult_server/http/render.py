"""Rendering pages with the translation layer and the CSRF token in context."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.config import CONFIG
from consult_server.errors import ClientError
from consult_server.http.i18n import LANGUAGES, TRANSLATIONS
from consult_server.http.security import LANG_COOKIE, LOGIN, USER, ensure_pre_csrf

ASSET_VERSION = importlib.metadata.version("consult-server")


def static_url(path: str) -> str:
    """Versioned so that an upgrade is never served from a stale browser cache."""
    return f"/static/{path}?v={ASSET_VERSION}"


def language_of(request: web.Request) -> str:
    user = request.get(USER)
    if user is not None and user.language in LANGUAGES:
        return str(user.language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return request.app[CONFIG].i18n.default_language


#: Vietnam's time (UTC+7, no daylight saving), as pages show moments.
_VIETNAM = datetime.timezone(datetime.timedelta(hours=7))


def local_time(at: float | None) -> str:
    """A moment as "2026-12-01 14:05" in Vietnam's time."""
    if at is None:
        return ""
    return datetime.datetime.fromtimestamp(at, _VIETNAM).strftime("%Y-%m-%d %H:%M")


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    catalog = request.app[TRANSLATIONS]
    lang = language_of(request)
    login = request.get(LOGIN)
    response = web.Response(status=status, content_type="text/html")
    csrf = login.csrf_token if login is not None else ensure_pre_csrf(request, response)

    def t(key: str, **params: object) -> str:
        return catalog.gettext(lang, key, **params)

    user = request.get(USER)
    recordings = request.app[CONFIG].recordings
    page = {
        "t": t,
        "can_review": user is not None
        and (
            user.role is Role.SUPERVISOR
            or (user.role in (Role.CLINICIAN, Role.SPECIALIST) and recordings.participants_may_view)
        ),
        "lang": lang,
        "user": request.get(USER),
        "csrf_token": csrf,
        "i18n_json": json.dumps(catalog.for_language(lang), ensure_ascii=False),
        "path": request.path,
        "static": static_url,
        "local_time": local_time,
        **(context or {}),
    }
    rendered = aiohttp_jinja2.render_string(template, request, page)
    response.text = rendered
    return response


async def render_error(request: web.Request, exc: ClientError) -> web.StreamResponse:
    return render(request, "error.html", {"error": exc}, status=exc.status)
