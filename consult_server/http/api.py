"""The JSON API for consult requests (the live updates come over socket.io)."""

from __future__ import annotations

import json
import time

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.consults.service import CONSULTS, NewConsult
from consult_server.errors import BadRequest
from consult_server.http.security import current_user, requires
from consult_server.teaching.service import TEACHING
from signaling.handlers import SIGNALING

routes = web.RouteTableDef()
MAX_BODY = 16 * 1024


async def _json_body(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest("request body is too large", "payload_too_large")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest("request body is too large", "payload_too_large")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise BadRequest("body is not valid JSON", "bad_json") from None


@routes.get("/api/consults")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def list_consults(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    items = [await consults.describe(c, user) for c in await consults.list_for(user)]
    return web.json_response({"consults": items, "server_now": time.time()})


@routes.post("/api/consults")
@requires(Role.CLINICIAN)
async def create_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    body = NewConsult.parse(await _json_body(request), consults.config.summary_max_chars)
    consult = await consults.create(user, body)
    return web.json_response({"consult": await consults.describe(consult, user)}, status=201)


@routes.post("/api/consults/{consult_id:\\d+}/accept")
@requires(Role.SPECIALIST)
async def accept_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.accept(user, int(request.match_info["consult_id"]))
    return web.json_response({"consult": await consults.describe(consult, user)})


@routes.post("/api/consults/{consult_id:\\d+}/cancel")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def cancel_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.cancel(user, int(request.match_info["consult_id"]))
    return web.json_response({"consult": await consults.describe(consult, user)})


@routes.get("/api/consults/{consult_id:\\d+}/invitable")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def invitable(request: web.Request) -> web.Response:
    user = current_user(request)
    people = await request.app[CONSULTS].invitable(user, int(request.match_info["consult_id"]))
    return web.json_response({"specialists": people})


@routes.post("/api/consults/{consult_id:\\d+}/invite")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def invite(request: web.Request) -> web.Response:
    user = current_user(request)
    consult_id = int(request.match_info["consult_id"])
    body = await _json_body(request)
    invitee = body.get("user_id") if isinstance(body, dict) else None
    consults = request.app[CONSULTS]
    consult = await consults.invite(user, consult_id, invitee)
    await request.app[SIGNALING].refresh_room(f"consult:{consult_id}")
    return web.json_response({"consult": await consults.describe(consult, user)})


@routes.get("/api/teaching")
@requires()
async def list_teaching(request: web.Request) -> web.Response:
    return web.json_response({"sessions": await request.app[TEACHING].listing()})


@routes.post("/api/teaching")
@requires(Role.SPECIALIST)
async def create_teaching(request: web.Request) -> web.Response:
    session = await request.app[TEACHING].create(current_user(request), await _json_body(request))
    return web.json_response({"id": session.id, "room": f"/teaching/{session.id}/room"}, status=201)
