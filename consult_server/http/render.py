"""Rendering pages with the translation layer and the CSRF token in context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from consult_server.accounts.models import User
from consult_server.config import CONFIG
from consult_server.errors import ClientError
from consult_server.http.assets import ASSETS
from consult_server.http.i18n import LANGUAGES, TRANSLATIONS
from consult_server.http.security import LANG_COOKIE, LOGIN, USER, ensure_pre_csrf
from consult_server.local_time import local_moment

#: Links every page shows a user when a rule of the domain owning the page allows it,
#: by template flag (``{"can_review": Review.reviews_any}``), set when the app is wired:
#: the rules stay with their domains, not in the rendering.
NAV_RULES: web.AppKey[Mapping[str, Callable[[User], bool]]] = web.AppKey("nav_rules")


def language_of(request: web.Request) -> str:
    user = request.get(USER)
    if user is not None and user.language in LANGUAGES:
        return str(user.language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return request.app[CONFIG].i18n.default_language


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
    rules = request.app.get(NAV_RULES, {})
    page = {
        "t": t,
        **{flag: user is not None and rule(user) for flag, rule in rules.items()},
        "lang": lang,
        "user": request.get(USER),
        "csrf_token": csrf,
        "path": request.path,
        # Under the release's content hash, cached for a year (consult_server/http/assets.py).
        "static": request.app[ASSETS].url,
        "modules": request.app[ASSETS].modules,
        "local_time": local_moment,
        **(context or {}),
    }
    rendered = aiohttp_jinja2.render_string(template, request, page)
    response.text = rendered
    return response


def compressed(request: web.Request, response: web.Response) -> web.Response:
    """gzip for a page that reflects nothing of its request but a path the router has
    matched (no query, no form echo). BREACH guesses a secret in a compressed page from
    the sizes of many replies, each carrying text the attacker chose; such a page carries
    none. The room page goes this way: on the way into a call over Edge, its 11 KB took
    a third of a second."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression(web.ContentCoding.gzip)
        response.headers["Vary"] = "Accept-Encoding"
    return response


async def render_error(request: web.Request, exc: ClientError) -> web.StreamResponse:
    return render(request, "error.html", {"error": exc}, status=exc.status)
