"""Signing in and out."""

from __future__ import annotations

import time

from aiohttp import web

from consult_server.accounts.login_sessions import COOKIE_NAME, LOGIN_SESSIONS, login_id
from consult_server.audit.chain import AUDIT, Actor
from consult_server.config import CONFIG
from consult_server.errors import BadRequest, Busy, Forbidden, Throttled
from consult_server.http.render import render
from consult_server.http.request import json_body, safe_next
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
#: Why a page sent someone to sign in again (each has its words on the sign-in page).
REASONS = frozenset({"idle", "ended", "expired", "deactivated", "signed_out", "password_changed"})


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
            # Why the last login ended, when a page sent the person here.
            "reason": reason if (reason := request.query.get("reason", "")) in REASONS else "",
            "idle_minutes": max(1, round(request.app[LOGIN_SESSIONS].idle / 60)),
            "session_hours": request.app[CONFIG].security.session_hours,
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
            "locked": login.locked,
            "server_now": time.time(),
        }
    )


@routes.post("/api/session/lock")
@requires()
async def lock_screen(request: web.Request) -> web.Response:
    """Nobody is at the PC: until its owner's password, this login is served nothing
    of a patient (its on-duty page still counts and rings)."""
    user = current_user(request)
    await request.app[LOGIN_SESSIONS].lock(request.cookies.get(COOKIE_NAME, ""), True)
    await request.app[AUDIT].append(Actor.user(user, request.remote), "screen_lock", "login")
    return web.json_response({"locked": True})


@routes.post("/api/session/unlock")
@requires()
async def unlock_screen(request: web.Request) -> web.Response:
    """The login's owner is back: their password (throttled like a sign-in) unlocks it."""
    user = current_user(request)
    body = await json_body(request)
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise BadRequest("type your password", "password_required")
    outcome = await request.app[SIGN_IN].attempt(
        user.username, password, request.remote, time.time(), purpose="screen_unlock"
    )
    if isinstance(outcome, Refusal):
        if outcome.status == 429:
            raise Throttled("too many wrong passwords; wait and try again", "login_locked")
        if outcome.status == 503:
            raise Busy("the server is busy; try again", "login_busy")
        raise Forbidden("that is not your password", "wrong_password")
    await request.app[LOGIN_SESSIONS].lock(request.cookies.get(COOKIE_NAME, ""), False)
    return web.json_response({"locked": False})


@routes.post("/api/session/keepalive")
@requires()
async def keepalive(request: web.Request) -> web.Response:
    """The person is there (they said so, or they are in a call): the login goes on."""
    logins = request.app[LOGIN_SESSIONS]
    login = request[LOGIN]
    assert login is not None  # @requires()
    expires = await logins.touch(request.cookies.get(COOKIE_NAME, ""), login)
    return web.json_response({"expires_at": expires, "ends_at": login.ends_at})


@routes.post("/unlock")
@requires()
async def unlock_form(request: web.Request) -> web.StreamResponse:
    """A locked screen's page without its script (a reload while locked): the same
    password, then back where the person was."""
    user = current_user(request)
    form = await request.post()
    password, target = form.get("password"), safe_next(form.get("next"))
    if isinstance(password, str) and password and len(password) <= 1024:
        outcome = await request.app[SIGN_IN].attempt(
            user.username, password, request.remote, time.time(), purpose="screen_unlock"
        )
        if not isinstance(outcome, Refusal):
            await request.app[LOGIN_SESSIONS].lock(request.cookies.get(COOKIE_NAME, ""), False)
            raise web.HTTPSeeOther(target)
    raise web.HTTPSeeOther(target)


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
