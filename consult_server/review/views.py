"""Recording review: the list, a session's page, and the authorizing file handler.

Every look at a recording goes through here and into the audit log: opening a
session's page ("view"), fetching a file to play it ("play": the first request of a user
for a file in any 10 minutes, GET with any Range or HEAD, so no request shape escapes
it; the seeks that follow are not logged again), downloading one ("download": asked
for by name, or the whole file fetched without a Range, each time), and every refusal
("refuse", with the reason).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.web import AppKey

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.attachments.service import ATTACHMENTS
from consult_server.audit.chain import AUDIT, Actor
from consult_server.audit.window import AccessWindow
from consult_server.consults.service import CONSULTS
from consult_server.errors import ClientError, Conflict, Forbidden, Gone, NotFound
from consult_server.http.render import language_of, render
from consult_server.http.security import current_user, requires
from consult_server.notes.service import NOTES
from consult_server.review.service import REVIEW, STATUSES, ReviewFilters, clock_text
from recordings.integrity import HashCheck

routes = web.RouteTableDef()


def _actor(request: web.Request, user: User) -> Actor:
    return Actor.user(user, request.remote)


async def _refuse(
    request: web.Request, user: User, obj: str, reason: str, error: ClientError
) -> ClientError:
    await request.app[AUDIT].append(_actor(request, user), "refuse", obj, {"reason": reason})
    return error


async def _in_scope(
    request: web.Request, user: User, recording_session_id: int | None, obj: str
) -> None:
    """Refuse unless ``user`` may review the session (None: there is none). The answer is
    the same whether or not it exists, so ids reveal nothing; refusing an existing one
    is audited."""
    refusal = Forbidden("you may not open this recording", "not_a_reviewer")
    if recording_session_id is None:
        raise refusal
    if not await request.app[REVIEW].may_review(user, recording_session_id):
        raise await _refuse(request, user, obj, "not_in_scope", refusal)


@routes.get("/review")
@requires()
async def review_list(request: web.Request) -> web.Response:
    user = current_user(request)
    review = request.app[REVIEW]
    if (await review.scope(user)).empty:
        raise Forbidden("you may not review recordings", "not_a_reviewer")
    filters = ReviewFilters.parse(request.query)
    language = language_of(request)
    page = await review.listing(user, filters, language)
    specialties = await request.app[ACCOUNTS].specialties()
    return render(
        request,
        "review_list.html",
        {
            "filters": filters,
            "page": page,
            "facilities": await review.facilities_in_scope(user),
            "specialties": [
                (s.code, s.name_en if language == "en" else s.name_vi) for s in specialties
            ],
            "statuses": STATUSES,
            "clock": clock_text,
            "page_link": lambda n: "/review?" + urlencode(filters.query(page=n)),
        },
    )


@routes.get("/review/sessions/{recording_session_id:\\d{1,12}}")
@requires()
async def review_session(request: web.Request) -> web.Response:
    user = current_user(request)
    app = request.app
    recording_session_id = int(request.match_info["recording_session_id"])
    obj = f"recording_session:{recording_session_id}"
    details = await app[REVIEW].recorded_session(recording_session_id, language_of(request))
    await _in_scope(request, user, recording_session_id if details else None, obj)
    assert details is not None
    await app[AUDIT].append(_actor(request, user), "view", obj)
    record = await _clinical_record(request, user, details.consult_id, details.started_at)
    audit = []
    if user.role is Role.SUPERVISOR:
        objects = [obj, *(f"recording:{f.id}" for f in details.files)]
        audit = await app[AUDIT].for_objects(objects)
    return render(
        request,
        "review_session.html",
        {
            "recorded": details,
            **record,
            "audit": audit,
            "show_audit": user.role is Role.SUPERVISOR,
            "clock": clock_text,
        },
    )


async def _clinical_record(
    request: web.Request, user: User, consult_id: int, started_at: float
) -> dict[str, Any]:
    """What else the consult holds, for the session page: the patient, the files, what
    was said (placed on the session's clock) and the signed note. Reading the chat is
    audited here; the note's reading and each file's are audited where they are read."""
    app = request.app
    try:
        facts = await app[CONSULTS].readable(user, consult_id)
    except NotFound:
        return {"patient": None, "attachments": [], "chat": [], "note": None}
    actor = _actor(request, user)
    chat = await app[CONSULTS].chat_of(user, consult_id)
    if chat:
        await app[AUDIT].append(actor, "view", f"chat:{consult_id}")
    note = await app[NOTES].read(user, actor, consult_id)
    language = language_of(request)
    return {
        "patient": facts.describe(user)["patient"],
        "attachments": [
            a.describe() for a in await app[ATTACHMENTS].of_consult(user, actor, consult_id)
        ],
        "chat": [{**line.describe(), "offset": max(0.0, line.at - started_at)} for line in chat],
        "note": [v.describe(language) for v in note.versions if v.signed],
    }


@routes.get("/recordings/{recording_id:\\d{1,12}}/file")
@requires()
async def recording_file(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    app = request.app
    recording_id = int(request.match_info["recording_id"])
    obj = f"recording:{recording_id}"
    review = app[REVIEW]
    entry = await review.recording(recording_id)
    await _in_scope(request, user, entry.session_id if entry else None, obj)
    assert entry is not None
    if entry.status == "deleted":
        raise await _refuse(
            request, user, obj, "deleted", Gone("this recording was deleted", "recording_deleted")
        )
    if entry.status == "recording":
        raise await _refuse(
            request,
            user,
            obj,
            "in_progress",
            Conflict("this recording is still being made", "recording_in_progress"),
        )
    path = entry.path
    if (
        entry.status == "damaged"
        or entry.sha256 is None
        or not await app[HASH_CHECK].matches(path, entry.sha256)
    ):
        await review.mark_damaged(recording_id)
        raise await _refuse(
            request,
            user,
            obj,
            "hash_mismatch",
            Conflict(
                "this file no longer matches its catalogued SHA-256; it is marked damaged",
                "recording_damaged",
            ),
        )
    download = request.query.get("download") == "1"
    # A player asks by ranges; a whole file asked for without one is a copy taken, as
    # much a download as one asked for by name.
    whole = request.method == "GET" and "Range" not in request.headers
    if download or whole:
        detail = {"size": entry.size, **({} if download else {"asked": "whole_file"})}
        await app[AUDIT].append(_actor(request, user), "download", obj, detail)
    elif app[PLAY_LOG].due(user.id, obj, time.time()):  # GET with a Range, or HEAD
        await app[AUDIT].append(_actor(request, user), "play", obj)
    headers = {"Content-Type": "video/webm", "Cache-Control": "private, no-store"}
    if download:
        stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(entry.started_at))
        name = f"consult-{entry.consult_id}-{stamp}-{entry.role}-{entry.user_id}.webm"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return web.FileResponse(path, headers=headers)


HASH_CHECK: AppKey[HashCheck] = AppKey("hash_check")
PLAY_LOG: AppKey[AccessWindow] = AppKey("play_log")
