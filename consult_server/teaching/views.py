"""Teaching sessions: the list, the room page and the JSON API."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.errors import Forbidden
from consult_server.http.render import compressed, render
from consult_server.http.request import json_body, room_entry
from consult_server.http.room_node import allow_node_ports, room_socket
from consult_server.http.security import current_user, requires
from consult_server.teaching.rooms import KIND
from consult_server.teaching.service import TEACHING
from signaling.room_kinds import room_key

routes = web.RouteTableDef()


@routes.get("/teaching")
@requires()
async def teaching_list(request: web.Request) -> web.Response:
    sessions = await request.app[TEACHING].listing()
    return render(request, "teaching.html", {"sessions": sessions})


@routes.get("/teaching/{teaching_id:\\d{1,12}}/room")
@requires()
async def teaching_room(request: web.Request) -> web.Response:
    user = current_user(request)
    teaching_session = await request.app[TEACHING].get(int(request.match_info["teaching_id"]))
    if teaching_session.state == "ended":
        raise Forbidden("this teaching session has ended", "room_ended")
    presenting = user.id in teaching_session.presenters
    role = "presenter" if presenting else "viewer"
    page = render(
        request,
        "room.html",
        {
            "room_title": teaching_session.title,
            "summary": "",
            "patient": None,
            "consult_id": "",
            "socket": await room_socket(
                request, room_key(KIND, teaching_session.id), watch_here=not presenting
            ),
            **room_entry(
                request,
                room_key(KIND, teaching_session.id),
                role,
                pairs=len(teaching_session.presenters) - presenting,
                layered=presenting,
            ),
            "chat": False,
            "invite": False,
            "publish": presenting,
            "ended": False,
            "teaching": True,
        },
    )
    return compressed(request, allow_node_ports(request, page))


@routes.get("/api/teaching")
@requires()
async def list_teaching(request: web.Request) -> web.Response:
    sessions = await request.app[TEACHING].listing()
    return web.json_response({"sessions": [dataclasses.asdict(s) for s in sessions]})


@routes.post("/api/teaching")
@requires(Role.SPECIALIST)
async def create_teaching(request: web.Request) -> web.Response:
    teaching_session = await request.app[TEACHING].create(
        current_user(request), await json_body(request)
    )
    return web.json_response(
        {"id": teaching_session.id, "room": f"/teaching/{teaching_session.id}/room"}, status=201
    )
