"""Pages: sign-in, language, the role's home page and the consult room."""

from __future__ import annotations

import time
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.login_sessions import COOKIE_NAME, LOGIN_SESSIONS
from consult_server.accounts.models import Role
from consult_server.config import CONFIG
from consult_server.consults.service import CONSULTS
from consult_server.errors import BadRequest, Forbidden
from consult_server.http.i18n import LANGUAGES
from consult_server.http.render import language_of, render
from consult_server.http.security import (
    LANG_COOKIE,
    USER,
    cookie_secure,
    current_user,
    public,
    requires,
)
from consult_server.teaching.service import TEACHING
from signaling.tokens import JoinClaims, sign_join_token

routes = web.RouteTableDef()


def _safe_next(value: object) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    return parts.path if not parts.netloc else "/"


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@routes.get("/login")
@public
async def login_page(request: web.Request) -> web.Response:
    if request.get(USER) is not None:
        raise web.HTTPFound("/")
    return render(request, "login.html", {"next": _safe_next(request.query.get("next"))})


@routes.post("/login")
@public
async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = form.get("username"), form.get("password")
    target = _safe_next(form.get("next"))
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 1024:
        raise BadRequest("username and password are required", "bad_credentials")
    user = await request.app[ACCOUNTS].authenticate(username.strip(), password)
    if user is None:
        return render(
            request, "login.html", {"next": target, "error": "errors.bad_credentials"}, status=401
        )
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
    await request.app[LOGIN_SESSIONS].delete(request.cookies.get(COOKIE_NAME, ""))
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response


@routes.post("/language")
@public
async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    lang = form.get("lang")
    if lang not in LANGUAGES:
        raise BadRequest("unknown language", "bad_language")
    user = request.get(USER)
    if user is not None:
        await request.app[ACCOUNTS].set_language(user.id, str(lang))
    response = web.HTTPFound(_safe_next(form.get("next")))
    response.set_cookie(LANG_COOKIE, str(lang), samesite="Lax", path="/", max_age=365 * 86400)
    raise response


@routes.get("/")
@requires()
async def home(request: web.Request) -> web.Response:
    user = current_user(request)
    app = request.app
    accounts = app[ACCOUNTS]
    facility = await accounts.facility(user.facility_id)
    context: dict[str, Any] = {"facility": facility, "specialties": await accounts.specialties()}
    if user.role is Role.CLINICIAN:
        # Only what somebody above this facility covers, in the reader's alphabetical
        # order, and nothing preselected (a default once sent inattentive requests to
        # the first specialty in the list, at the central hospital).
        tree = await accounts.referral_tree()
        covered = [s for s in context["specialties"] if tree.levels_for(user.facility_id, s.code)]
        lang = language_of(request)
        context["specialties"] = sorted(
            covered, key=lambda s: unicodedata.normalize("NFD", s.name(lang).casefold())
        )
        return render(request, "clinician.html", context)
    if user.role is Role.SPECIALIST:
        return render(request, "specialist.html", context)
    if user.role is Role.SUPERVISOR:
        raise web.HTTPFound("/review")
    return render(request, "overview.html", context)


@routes.get("/consults/{consult_id:\\d+}/room")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def room_page(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.get(int(request.match_info["consult_id"]))
    if user.id not in await consults.participants(consult):
        raise Forbidden("you are not a participant of this consult", "not_a_participant")
    details = await consults.describe(consult, user)
    return render(
        request,
        "room.html",
        {
            "room_title": f"{details['clinician']} · {details['specialty_name']}",
            "summary": details["summary"],
            "consult_id": consult.id,
            "join_token": _join_token(request, f"consult:{consult.id}", user.role.value),
            "invite": True,
            "publish": True,
        },
    )


def _join_token(request: web.Request, room: str, role: str) -> str:
    config = request.app[CONFIG]
    user = current_user(request)
    expires = time.time() + config.security.join_token_seconds
    return sign_join_token(config.secret_bytes(), JoinClaims(user.id, room, role, expires))


@routes.get("/teaching")
@requires()
async def teaching_list(request: web.Request) -> web.Response:
    sessions = await request.app[TEACHING].listing()
    return render(request, "teaching.html", {"sessions": sessions})


@routes.get("/teaching/{session_id:\\d+}/room")
@requires()
async def teaching_room(request: web.Request) -> web.Response:
    user = current_user(request)
    session = await request.app[TEACHING].get(int(request.match_info["session_id"]))
    if session.state == "ended":
        raise Forbidden("this teaching session has ended", "room_ended")
    presenting = user.id in session.presenters
    role = "presenter" if presenting else "viewer"
    return render(
        request,
        "room.html",
        {
            "room_title": session.title,
            "summary": "",
            "consult_id": "",
            "join_token": _join_token(request, f"teaching:{session.id}", role),
            "invite": False,
            "publish": presenting,
        },
    )
