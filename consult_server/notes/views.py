"""Routes for the specialist's note: read it, save the draft, sign, comment, print, and
search the ICD-10 list."""

from __future__ import annotations

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.audit.chain import Actor
from consult_server.consults.service import CONSULTS
from consult_server.errors import BadRequest
from consult_server.http.render import language_of, render
from consult_server.http.request import json_body
from consult_server.http.security import current_user, requires
from consult_server.notes.icd10 import search
from consult_server.notes.models import NoteContent
from consult_server.notes.service import NOTES

routes = web.RouteTableDef()
READERS = (Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)


def _actor(request: web.Request) -> Actor:
    return Actor.user(current_user(request), request.remote)


def _consult(request: web.Request) -> int:
    return int(request.match_info["consult_id"])


@routes.get("/api/consults/{consult_id:\\d{1,12}}/note")
@requires(*READERS)
async def read(request: web.Request) -> web.Response:
    note = await request.app[NOTES].read(current_user(request), _actor(request), _consult(request))
    language = language_of(request)
    return web.json_response(
        {
            "versions": [v.describe(language) for v in note.versions],
            "comments": [c.describe() for c in note.comments],
        }
    )


@routes.put("/api/consults/{consult_id:\\d{1,12}}/note/draft")
@requires(Role.SPECIALIST)
async def save_draft(request: web.Request) -> web.Response:
    body = await json_body(request)
    content = NoteContent.parse(body)
    edits = body.get("version") if isinstance(body, dict) else None
    if edits is not None and (not isinstance(edits, int) or isinstance(edits, bool)):
        raise BadRequest("version must be a number", "bad_note")
    draft = await request.app[NOTES].save_draft(
        current_user(request), _consult(request), content, edits
    )
    return web.json_response({"note": draft.describe(language_of(request))})


@routes.post("/api/consults/{consult_id:\\d{1,12}}/note/sign")
@requires(Role.SPECIALIST)
async def sign(request: web.Request) -> web.Response:
    body = await json_body(request)
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version < 2**31:
        raise BadRequest("say which version to sign", "bad_note")
    seen = body.get("updated_at") if isinstance(body, dict) else None
    if seen is not None and (isinstance(seen, bool) or not isinstance(seen, (int, float))):
        raise BadRequest("updated_at must be the draft's save time", "bad_note")
    signed = await request.app[NOTES].sign(
        current_user(request),
        _actor(request),
        _consult(request),
        version,
        None if seen is None else float(seen),
    )
    return web.json_response({"note": signed.describe(language_of(request))})


@routes.post("/api/consults/{consult_id:\\d{1,12}}/note/comments")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def comment(request: web.Request) -> web.Response:
    body = await json_body(request)
    text = body.get("text") if isinstance(body, dict) else None
    made = await request.app[NOTES].comment(current_user(request), _consult(request), text)
    return web.json_response({"comment": made.describe()}, status=201)


@routes.get("/api/icd10")
@requires(Role.SPECIALIST, Role.SUPERVISOR, Role.CLINICIAN)
async def icd10(request: web.Request) -> web.Response:
    query = request.query.get("q", "")[:100]
    language = language_of(request)
    return web.json_response(
        {"codes": [{"code": c.code, "title": c.title(language)} for c in search(query)]}
    )


@routes.get("/consults/{consult_id:\\d{1,12}}/note/print")
@requires(*READERS)
async def print_page(request: web.Request) -> web.Response:
    """The signed note as a page to print (or save as PDF from the browser)."""
    user = current_user(request)
    consult_id = _consult(request)
    note = await request.app[NOTES].read(user, _actor(request), consult_id)
    consults = request.app[CONSULTS]
    facts = await consults.readable(user, consult_id)
    language = language_of(request)
    return render(
        request,
        "note_print.html",
        {
            "consult": facts.describe(user),
            "signed": [v.describe(language) for v in note.versions if v.signed],
            "comments": [c.describe() for c in note.comments],
        },
    )
