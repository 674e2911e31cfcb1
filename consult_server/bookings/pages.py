"""The bookings' pages (plain forms, they work before any script loads):

- ``/bookings``: a clinician's free slots (a specialty, a week) and everyone's own
  bookings, each with "cancel" (a reason) and, when due, "join";
- ``/bookings/new``: the booking form for one slot (the patient, the summary, consent);
- ``/availability``: a specialist's weekly hours and days off (``?for=ID``: an admin keeping
  those of a specialist at a facility under theirs, audited).
"""

from __future__ import annotations

import datetime
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.audit.chain import AUDIT, Actor
from consult_server.bookings.repository import Booking
from consult_server.bookings.service import BOOKINGS, OPENS_BEFORE
from consult_server.bookings.slots import Availability
from consult_server.errors import BadRequest, ClientError
from consult_server.http.render import language_of, render, render_error
from consult_server.http.security import current_user, requires
from consult_server.local_time import local_moment, today

routes = web.RouteTableDef()
WEEKDAYS = range(7)


def _clock(at: float) -> str:
    return local_moment(at)[-5:]  # "HH:MM"


def _day(at: float) -> str:
    return local_moment(at).split(" ")[0]  # "7/12/2026"


async def _names(request: web.Request, ids: set[int]) -> dict[int, User]:
    return await request.app[ACCOUNTS].users(ids)


async def _page(
    request: web.Request, error: ClientError | None = None, status: int = 200
) -> web.Response:
    user = current_user(request)
    bookings = request.app[BOOKINGS]
    accounts = request.app[ACCOUNTS]
    language = language_of(request)
    specialties = {s.code: s.name(language) for s in await accounts.specialties()}
    chosen = request.query.get("specialty", "")
    try:
        first = datetime.date.fromisoformat(request.query.get("from", "") or today().isoformat())
    except ValueError:
        first = today()
    slots: list[Any] = []
    if user.role is Role.CLINICIAN and chosen in specialties:
        slots = await bookings.free_slots(user, chosen, first, 7)
    mine: list[Booking] = await bookings.mine(user)
    people = await _names(
        request,
        {s.specialist_id for s in slots}
        | {b.specialist_id for b in mine}
        | {b.clinician_id for b in mine},
    )
    facilities = {f.id: f.name for f in await accounts.facilities()}
    now = time.time()
    return render(
        request,
        "bookings.html",
        {
            "specialties": specialties,
            "chosen": chosen,
            "first": first.isoformat(),
            "slots": slots,
            "mine": mine,
            "people": people,
            "facilities": facilities,
            "clock": _clock,
            "day": _day,
            "due": lambda b: (
                b.status == "scheduled"
                and b.starts_at - OPENS_BEFORE <= now <= b.ends_at + bookings.grace
            ),
            "book_url": lambda s: (
                "/bookings/new?"
                + urlencode(
                    {
                        "specialist": s.specialist_id,
                        "specialty": s.specialty,
                        "starts_at": s.starts_at,
                    }
                )
            ),
            "error": error,
            "done": request.query.get("done", ""),
            "is_clinician": user.role is Role.CLINICIAN,
        },
        status=status,
    )


@routes.get("/bookings")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def bookings_page(request: web.Request) -> web.Response:
    return await _page(request)


@routes.get("/bookings/new")
@requires(Role.CLINICIAN)
async def booking_form(request: web.Request) -> web.Response:
    q = request.query
    people = await _names(
        request, {int(q["specialist"])} if q.get("specialist", "").isdigit() else set()
    )
    try:
        starts_at = float(q.get("starts_at", ""))
    except ValueError:
        raise BadRequest("choose a slot", "slot_not_found") from None
    return render(
        request,
        "booking_new.html",
        {
            "specialist": next(iter(people.values()), None),
            "specialty": q.get("specialty", ""),
            "starts_at": starts_at,
            "when": local_moment(starts_at),
        },
    )


@routes.post("/bookings")
@requires(Role.CLINICIAN)
async def book(request: web.Request) -> web.Response:
    user = current_user(request)
    form = await request.post()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    try:
        try:
            specialist_id = int(text("specialist"))
            starts_at = float(text("starts_at"))
            birth_year = int(text("birth_year"))
        except ValueError:
            raise BadRequest("the patient's year of birth is a number", "bad_patient") from None
        await request.app[BOOKINGS].book(
            user,
            specialist_id,
            text("specialty"),
            starts_at,
            text("summary"),
            {"name": text("name"), "birth_year": birth_year, "sex": text("sex")},
            consent=text("consent") == "on",
        )
    except ClientError as exc:
        return await _page(request, exc, exc.status)
    raise web.HTTPSeeOther("/bookings?done=booked")


@routes.post("/bookings/{booking_id:\\d{1,12}}/cancel")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def cancel(request: web.Request) -> web.Response:
    form = await request.post()
    reason = form.get("reason")
    try:
        await request.app[BOOKINGS].cancel(
            current_user(request),
            int(request.match_info["booking_id"]),
            reason if isinstance(reason, str) else "",
        )
    except ClientError as exc:
        return await _page(request, exc, exc.status)
    raise web.HTTPSeeOther("/bookings?done=cancelled")


@routes.post("/bookings/{booking_id:\\d{1,12}}/room")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def join(request: web.Request) -> web.Response:
    try:
        consult_id = await request.app[BOOKINGS].open_room(
            current_user(request), int(request.match_info["booking_id"])
        )
    except ClientError as exc:
        return await _page(request, exc, exc.status)
    raise web.HTTPSeeOther(f"/consults/{consult_id}/room")


def _for(value: object) -> int | None:
    """The specialist an admin keeps hours for (``for``: their id)."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 13 else None


@routes.get("/availability")
@requires(Role.SPECIALIST, Role.ADMIN)
async def availability_page(request: web.Request) -> web.StreamResponse:
    try:
        keeper = await request.app[BOOKINGS].keeper(
            current_user(request), _for(request.query.get("for"))
        )
    except ClientError as exc:
        return await render_error(request, exc)
    return await _availability(request, keeper)


async def _availability(
    request: web.Request, user: User, error: ClientError | None = None, status: int = 200
) -> web.Response:
    bookings = request.app[BOOKINGS]
    hours = await bookings.store.hours([user.id])
    off = sorted(day for _, day in await bookings.store.days_off([user.id]))
    extra = request.query.get("rows", "")
    blank = int(extra) if extra.isdigit() and int(extra) <= 20 else (0 if hours else 1)
    language = language_of(request)
    names = {s.code: s.name(language) for s in await request.app[ACCOUNTS].specialties()}
    return render(
        request,
        "availability.html",
        {
            "hours": hours,
            "blank": blank,
            "days_off": "\n".join(d.isoformat() for d in off),
            "specialties": [(code, names.get(code, code)) for code in sorted(user.specialties)],
            "weekdays": WEEKDAYS,
            "hhmm": lambda minute: f"{minute // 60:02d}:{minute % 60:02d}",
            "error": error,
            "done": request.query.get("done", ""),
            # Set when an admin keeps someone else's hours.
            "keeper": None if user.id == current_user(request).id else user,
        },
        status=status,
    )


def _minutes(value: str) -> int:
    hours, _, minutes = value.partition(":")
    return int(hours) * 60 + int(minutes)


@routes.post("/availability")
@requires(Role.SPECIALIST, Role.ADMIN)
async def save_availability(request: web.Request) -> web.StreamResponse:
    acting = current_user(request)
    form = await request.post()
    try:
        user = await request.app[BOOKINGS].keeper(acting, _for(form.get("for")))
    except ClientError as exc:
        return await render_error(request, exc)

    def column(name: str) -> list[str]:
        return [v.strip() for v in form.getall(name, []) if isinstance(v, str)]

    try:
        rows = zip(
            column("specialty"),
            column("weekday"),
            column("start"),
            column("end"),
            column("slot_minutes"),
            column("per_slot"),
            strict=True,
        )
        hours = []
        for specialty, weekday, start, end, length, per_slot in rows:
            if not (start and end):
                continue  # an empty row
            try:
                hours.append(
                    Availability(
                        user.id,
                        specialty,
                        int(weekday),
                        _minutes(start),
                        _minutes(end),
                        int(length),
                        int(per_slot or 1),
                    )
                )
            except ValueError:
                raise BadRequest("hours are HH:MM, lengths numbers", "bad_availability") from None
        days = []
        raw_days = form.get("days_off")
        for line in (raw_days if isinstance(raw_days, str) else "").split():
            try:
                days.append(datetime.date.fromisoformat(line))
            except ValueError:
                raise BadRequest("days off are YYYY-MM-DD", "bad_availability") from None
        await request.app[BOOKINGS].publish(user, hours, days)
    except (ClientError, ValueError) as exc:
        error = exc if isinstance(exc, ClientError) else BadRequest("bad form", "bad_availability")
        return await _availability(request, user, error, error.status)
    if user.id != acting.id:
        await request.app[AUDIT].append(
            Actor.user(acting, request.remote), "update", f"availability:{user.id}"
        )
        raise web.HTTPSeeOther(f"/availability?for={user.id}&done=saved")
    raise web.HTTPSeeOther("/availability?done=saved")


@routes.get("/bookings/{booking_id:\\d{1,12}}/move")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def move_page(request: web.Request) -> web.Response:
    return await _move_page(request)


async def _move_page(
    request: web.Request, error: ClientError | None = None, status: int = 200
) -> web.Response:
    user = current_user(request)
    booking_id = int(request.match_info["booking_id"])
    bookings = request.app[BOOKINGS]
    booking = await bookings.store.get(booking_id)
    try:
        first = datetime.date.fromisoformat(request.query.get("from", "") or today().isoformat())
    except ValueError:
        first = today()
    free = await bookings.slots_of_specialist(user, booking_id, first, 14)
    assert booking is not None  # slots_of_specialist found it
    return render(
        request,
        "booking_move.html",
        {
            "booking": booking,
            "slots": [s for s in free if s.starts_at != booking.starts_at],
            "clock": _clock,
            "day": _day,
            "error": error,
        },
        status=status,
    )


@routes.post("/bookings/{booking_id:\\d{1,12}}/move")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def move(request: web.Request) -> web.Response:
    form = await request.post()
    chosen, reason = form.get("starts_at"), form.get("reason")
    try:
        try:
            starts_at = float(chosen if isinstance(chosen, str) else "")
        except ValueError:
            raise BadRequest("choose a new time", "slot_not_found") from None
        await request.app[BOOKINGS].move(
            current_user(request),
            int(request.match_info["booking_id"]),
            starts_at,
            reason if isinstance(reason, str) else "",
        )
    except ClientError as exc:
        return await _move_page(request, exc, exc.status)
    raise web.HTTPSeeOther("/bookings?done=moved")
