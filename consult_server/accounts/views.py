"""Signing in and out."""

from __future__ import annotations

import time

from aiohttp import web

from consult_server.accounts.login_sessions import COOKIE_NAME, LOGIN_SESSIONS, login_id
from consult_server.accounts.sign_in import SIGN_IN, Refusal
from consult_server.config import CONFIG
from consult_server.errors import BadRequest
from consult_server.http.render import render
from consult_server.http.request import safe_next
from consult_server.http.security import USER, cookie_secure, current_user, public, requires
from signaling.handlers import SIGNALING

routes = web.RouteTableDef()


@routes.get("/login")
@public
async def login_page(request: web.Request) -> web.Response:
    if request.get(USER) is not None:
        raise web.HTTPFound("/")
    return render(request, "login.html", {"next": safe_next(request.query.get("next"))})


@routes.post("/login")
@public
async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = form.get("username"), form.get("password")
    target = safe_next(form.get("next"))
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1024:
        raise BadRequest("username and password are required", "bad_credentials")
    outcome = await request.app[SIGN_IN].attempt(
        username.strip(), password, request.remote, time.time()
    )
    if isinstance(outcome, Refusal):
        return render(
            request,
            "login.html",
            {"next": target, "error": outcome.key, "minutes": outcome.minutes},
            status=outcome.status,
        )
    user = outcome
    token, _ = await request.app[LOGIN_SESSIONS].create(user.id)
    response = web.HTTPFound(target)
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="Lax",
        secure=cookie_secure(request),
        path="/",
        max_age=request.app[CONFIG].security.session_hours * 3600,
    )
    raise response


@routes.post("/logout")
@requires()
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE_NAME, "")
    await request.app[LOGIN_SESSIONS].delete(token)
    await request.app[SIGNALING].close_sockets(f"login:{login_id(token)}", "signed_out")
    await request.app[SIGN_IN].signed_out(current_user(request), request.remote)
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response
