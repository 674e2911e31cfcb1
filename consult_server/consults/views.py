"""Consult requests: the role's home page, the JSON API (live updates come over
socket.io) and the consult room's page."""

from __future__ import annotations

import dataclasses
import time
import unicodedata
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.audit.chain import AUDIT, Actor
from consult_server.audit.window import AccessWindow
from consult_server.config import CONFIG
from consult_server.consults.lifecycle import FINAL_STATES, ConsultState
from consult_server.consults.models import NewConsult
from consult_server.consults.rooms import KIND
from consult_server.consults.service import CONSULTS
from consult_server.errors import NotFound
from consult_server.http.rate_limits import RATE_LIMITS
from consult_server.http.render import compressed, language_of, render
from consult_server.http.request import join_token, json_body, room_entry
from consult_server.http.room_node import allow_node_ports, room_socket
from consult_server.http.security import current_user, requires
from signaling.handlers import SIGNALING
from signaling.room_kinds import room_key

routes = web.RouteTableDef()


#: Looks at consults' patient and case summary: one audit entry per user, consult and
#: 10 minutes (a list refreshed, a page reloaded, make one).
READINGS: web.AppKey[AccessWindow] = web.AppKey("consult_readings")


async def _audit_reading(
    request: web.Request, user: User, consult_ids: Iterable[int], part: str
) -> None:
    window, audit = request.app[READINGS], request.app[AUDIT]
    actor, now = Actor.user(user, request.remote), time.time()
    for consult_id in consult_ids:
        if window.due(user.id, f"consult:{consult_id}", now):
            await audit.append(actor, "view", f"consult:{consult_id}", {"part": part})


@routes.get("/")
@requires()
async def home(request: web.Request) -> web.Response:
    user = current_user(request)
    app = request.app
    accounts = app[ACCOUNTS]
    facility = await accounts.facility(user.facility_id)
    context: dict[str, Any] = {
        "facility": facility,
        "specialties": await accounts.specialties(),
        "max_file_mib": app[CONFIG].attachments.max_file_mib,
    }
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


@routes.get("/consults/{consult_id:\\d{1,12}}/room")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def room_page(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.get(int(request.match_info["consult_id"]))
    participants = await consults.participants(consult)
    if user.id not in participants:
        # The same answer as for a consult that does not exist: ids reveal nothing.
        raise NotFound("no such consult", "consult_not_found")
    details = await consults.describe(consult, user)
    await _audit_reading(request, user, [consult.id], "room")
    # The title names the other side: the specialist for the clinician who asked, the
    # clinician and their facility for everyone else.
    if user.id == consult.clinician_id and details["specialist"]:
        other = f"{details['specialist']} · {details['specialty_name']}"
    else:
        other = f"{details['clinician']} · {details['facility']} · {details['specialty_name']}"
    page = render(
        request,
        "room.html",
        {
            "room_title": other,
            # An ended consult's room says so before the page touches a camera.
            "ended": details["state"] in ("ended", "cancelled", "expired"),
            "summary": details["summary"],
            "patient": details["patient"],
            "consult_id": consult.id,
            "socket": await room_socket(request, room_key(KIND, consult.id)),
            **room_entry(
                request,
                room_key(KIND, consult.id),
                user.role.value,
                pairs=len(participants) - 1,
                layered=len(participants) >= 3,
            ),
            "chat": True,
            "invite": True,
            "publish": True,
            "files": True,
            "sharing": True,
            "can_attach": True,
            "can_comment": True,
            "write_note": user.role is Role.SPECIALIST,
            "max_file_mib": request.app[CONFIG].attachments.max_file_mib,
        },
    )
    return compressed(request, allow_node_ports(request, page))


@routes.get("/consults/{consult_id:\\d{1,12}}")
@requires(Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)
async def consult_page(request: web.Request) -> web.Response:
    """A consult's record outside its room: the patient, the files, what was said and
    the note (written here by the specialist after the session)."""
    user = current_user(request)
    consults = request.app[CONSULTS]
    facts = await consults.readable(user, int(request.match_info["consult_id"]))
    details = facts.describe(user)
    participant = user.id in facts.participants
    state = facts.consult.state
    chat = await consults.chat_of(user, facts.consult.id)
    await _audit_reading(request, user, [facts.consult.id], "record")
    return render(
        request,
        "consult.html",
        {
            "consult": details,
            "chat": [line.describe() for line in chat],
            "files": True,
            "sharing": False,
            "can_attach": participant and state not in FINAL_STATES,
            "can_comment": participant,
            "write_note": participant and user.role is Role.SPECIALIST,
            "max_file_mib": request.app[CONFIG].attachments.max_file_mib,
        },
    )


@routes.get("/api/consults")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def list_consults(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    listed = await consults.list_for(user)
    items = await consults.describe_all(listed, user)
    await _audit_reading(request, user, [c.id for c in listed], "list")
    return web.json_response({"consults": items, "server_now": time.time()})


@routes.post("/api/consults")
@requires(Role.CLINICIAN)
async def create_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    await request.app[RATE_LIMITS].check("new_consults", str(user.id))
    body = NewConsult.parse(
        await json_body(request), consults.config.summary_max_chars, time.time()
    )
    consult = await consults.create(user, body)
    return web.json_response({"consult": await consults.describe(consult, user)}, status=201)


@routes.get("/api/consults/{consult_id:\\d{1,12}}/reach")
@requires(Role.CLINICIAN)
async def reach(request: web.Request) -> web.Response:
    """For the clinician waiting on their request: which facilities it reached (names
    and levels, never a person's name), how many specialists of its specialty have a
    page open at each (on duty), and when it expires."""
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.get(int(request.match_info["consult_id"]))
    if consult.clinician_id != user.id:
        raise NotFound("no such consult", "consult_not_found")
    accounts = request.app[ACCOUNTS]
    names = {f.id: f for f in await accounts.facilities()}
    reached = []
    for facility_id in await consults.targets(consult.id):
        specialists = set(await accounts.specialists_at([facility_id], consult.specialty))
        facility = names.get(facility_id)
        reached.append(
            {
                "facility": facility.name if facility else "?",
                "level": facility.level.value if facility else "",
                "on_duty": len(await request.app[SIGNALING].online(specialists)),
            }
        )
    return web.json_response(
        {
            "state": consult.state.value,
            "tier": consult.tier,
            "reached": reached,
            "expires_at": consult.expires_at,
            # For the connection test the page runs while its clinician waits (the
            # same check as before a call, so an accept can take them straight in).
            "check_token": join_token(request, room_key(KIND, consult.id), user.role.value)
            if consult.state is ConsultState.REQUESTED
            else None,
            "server_now": time.time(),
        }
    )


@routes.post("/api/consults/{consult_id:\\d{1,12}}/accept")
@requires(Role.SPECIALIST)
async def accept_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.accept(user, int(request.match_info["consult_id"]))
    return web.json_response({"consult": await consults.describe(consult, user)})


@routes.post("/api/consults/{consult_id:\\d{1,12}}/cancel")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def cancel_consult(request: web.Request) -> web.Response:
    user = current_user(request)
    consults = request.app[CONSULTS]
    consult = await consults.cancel(user, int(request.match_info["consult_id"]))
    return web.json_response({"consult": await consults.describe(consult, user)})


@routes.get("/api/consults/{consult_id:\\d{1,12}}/messages")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def messages(request: web.Request) -> web.Response:
    """What was said in the room (to show again after a reconnect or a rejoin)."""
    user = current_user(request)
    lines = await request.app[CONSULTS].chat_of(user, int(request.match_info["consult_id"]))
    return web.json_response({"messages": [line.describe() for line in lines]})


@routes.get("/api/consults/{consult_id:\\d{1,12}}/invitable")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def invitable(request: web.Request) -> web.Response:
    user = current_user(request)
    people = await request.app[CONSULTS].invitable(user, int(request.match_info["consult_id"]))
    return web.json_response({"specialists": [dataclasses.asdict(p) for p in people]})


@routes.post("/api/consults/{consult_id:\\d{1,12}}/invite")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def invite(request: web.Request) -> web.Response:
    user = current_user(request)
    consult_id = int(request.match_info["consult_id"])
    body = await json_body(request)
    invitee = body.get("user_id") if isinstance(body, dict) else None
    consults = request.app[CONSULTS]
    consult = await consults.invite(user, consult_id, invitee)
    await request.app[SIGNALING].refresh_room(room_key(KIND, consult_id))
    return web.json_response({"consult": await consults.describe(consult, user)})
