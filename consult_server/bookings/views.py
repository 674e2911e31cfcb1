"""The bookings' JSON API (the pages come next): free slots, booking, one's bookings,
cancelling, and a specialist's weekly hours."""

from __future__ import annotations

import datetime
import time

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.bookings.service import BOOKINGS
from consult_server.bookings.slots import Availability
from consult_server.errors import BadRequest
from consult_server.http.request import json_body
from consult_server.http.security import current_user, requires
from consult_server.local_time import today

routes = web.RouteTableDef()


def _slot(slot: object) -> dict[str, object]:
    return dict(vars(slot)) | {"free": getattr(slot, "free", 0)}


@routes.get("/api/slots")
@requires(Role.CLINICIAN)
async def free_slots(request: web.Request) -> web.Response:
    specialty = request.query.get("specialty", "")[:64]
    try:
        first = datetime.date.fromisoformat(request.query.get("from", "") or today().isoformat())
        days = int(request.query.get("days", "7"))
    except ValueError:
        raise BadRequest("from is a date (YYYY-MM-DD), days a number", "bad_filter") from None
    found = await request.app[BOOKINGS].free_slots(current_user(request), specialty, first, days)
    return web.json_response({"slots": [_slot(s) for s in found]})


@routes.post("/api/bookings")
@requires(Role.CLINICIAN)
async def book(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object", "bad_payload")
    try:
        specialist_id = int(body["specialist_id"])
        starts_at = float(body["starts_at"])
        specialty = str(body["specialty"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(
            "name the slot: specialist_id, specialty, starts_at", "bad_payload"
        ) from None
    booked = await request.app[BOOKINGS].book(
        current_user(request),
        specialist_id,
        specialty,
        starts_at,
        str(body.get("summary", "")),
        body.get("patient"),
    )
    return web.json_response({"booking": booked.describe()}, status=201)


@routes.get("/api/bookings")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def my_bookings(request: web.Request) -> web.Response:
    bookings = request.app[BOOKINGS]
    found = await bookings.mine(current_user(request))
    return web.json_response(
        {
            "bookings": [b.describe() for b in found],
            "remind_before_s": bookings.remind,
            "server_now": time.time(),
        }
    )


@routes.post("/api/bookings/{booking_id:\\d{1,12}}/cancel")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def cancel(request: web.Request) -> web.Response:
    body = await json_body(request)
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    cancelled = await request.app[BOOKINGS].cancel(
        current_user(request), int(request.match_info["booking_id"]), str(reason)
    )
    return web.json_response({"booking": cancelled.describe()})


@routes.put("/api/availability")
@requires(Role.SPECIALIST)
async def publish(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await json_body(request)
    items = body.get("hours") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > 100:
        raise BadRequest("hours: a list of at most 100", "bad_availability")
    try:
        hours = [
            Availability(
                user.id,
                str(item["specialty"]),
                int(item["weekday"]),
                int(item["start_minute"]),
                int(item["end_minute"]),
                int(item["slot_minutes"]),
                int(item.get("per_slot", 1)),
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadRequest(
            "each hour needs specialty, weekday, minutes", "bad_availability"
        ) from None
    await request.app[BOOKINGS].publish(user, hours)
    return web.json_response({"hours": len(hours)})


@routes.post("/api/bookings/{booking_id:\\d{1,12}}/room")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def open_room(request: web.Request) -> web.Response:
    """The booking's consult (made by whichever side comes first) and its room."""
    consult_id = await request.app[BOOKINGS].open_room(
        current_user(request), int(request.match_info["booking_id"])
    )
    return web.json_response({"consult_id": consult_id, "room": f"/consults/{consult_id}/room"})


@routes.post("/api/bookings/{booking_id:\\d{1,12}}/move")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def move(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object", "bad_payload")
    try:
        starts_at = float(body["starts_at"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest("name the new slot: starts_at", "bad_payload") from None
    moved = await request.app[BOOKINGS].move(
        current_user(request),
        int(request.match_info["booking_id"]),
        starts_at,
        str(body.get("reason", "")),
    )
    return web.json_response({"booking": moved.describe()})
