"""Signing in and out."""

from __future__ import annotations

import time

from aiohttp import web

from consult_server.accounts.login_sessions import COOKIE_NAME, LOGIN_SESSIONS, login_id
from consult_server.config import CONFIG
from consult_server.errors import BadRequest
from consult_server.http.render import render
from consult_server.http.request import safe_next
from consult_server.http.security import (
    LOGIN,
    USER,
    cookie_secure,
    current_user,
    public,
    requires,
)
from consult_server.sign_in.flow import SIGN_IN, Refusal
from signaling.handlers import SIGNALING

routes = web.RouteTableDef()


@routes.get("/login")
@public
async def login_page(request: web.Request) -> web.Response:
    if request.get(USER) is not None:
        raise web.HTTPFound("/")
    return render(
        request,
        "login.html",
        {
            "next": safe_next(request.query.get("next")),
            "remember_pc": request.app[CONFIG].security.remember_pc,
            "password_set": request.query.get("password") == "set",
        },
    )


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
            {
                "next": target,
                "error": outcome.key,
                "minutes": outcome.minutes,
                "remember_pc": request.app[CONFIG].security.remember_pc,
            },
            status=outcome.status,
        )
    user = outcome
    # A login on a shared PC ends the one before it, whoever's it was (and its sockets).
    previous = request.cookies.get(COOKIE_NAME, "")
    if previous:
        await request.app[LOGIN_SESSIONS].delete(previous)
        await request.app[SIGNALING].close_sockets(login_id(previous), "signed_out")
    token, _ = await request.app[LOGIN_SESSIONS].create(user.id)
    security = request.app[CONFIG].security
    remember = security.remember_pc and form.get("remember") == "on"
    response = web.HTTPFound(target)
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="Lax",
        secure=cookie_secure(request),
        path="/",
        # Without "remember this PC" the cookie ends with the browser.
        max_age=security.session_hours * 3600 if remember else None,
    )
    raise response


@routes.get("/api/session")
@requires()
async def session_state(request: web.Request) -> web.Response:
    """When this login ends if unused, and at the latest (not itself a use of it), and
    how long it may stay unused (the page warns before the end, at most 2 minutes)."""
    login = request[LOGIN]
    assert login is not None  # @requires()
    return web.json_response(
        {
            "expires_at": login.expires_at,
            "ends_at": login.ends_at,
            "idle_seconds": request.app[LOGIN_SESSIONS].idle,
            "server_now": time.time(),
        }
    )


@routes.post("/api/session/keepalive")
@requires()
async def keepalive(request: web.Request) -> web.Response:
    """The person is there (they said so, or they are in a call): the login goes on."""
    logins = request.app[LOGIN_SESSIONS]
    login = request[LOGIN]
    assert login is not None  # @requires()
    expires = await logins.touch(request.cookies.get(COOKIE_NAME, ""), login)
    return web.json_response({"expires_at": expires, "ends_at": login.ends_at})


@routes.post("/logout")
@requires()
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE_NAME, "")
    await request.app[LOGIN_SESSIONS].delete(token)
    await request.app[SIGNALING].close_sockets(login_id(token), "signed_out")
    await request.app[SIGN_IN].signed_out(current_user(request), request.remote)
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response
