"""Routes for attached files: send one, list a consult's, fetch one or its preview.

A file is sent as the raw request body (``Content-Type: application/octet-stream``),
its name percent-encoded in ``X-File-Name``: never in the URL, which access logs keep.
Files are served with ``Content-Security-Policy: sandbox`` and ``nosniff`` so that even
a hostile PDF or image cannot run anything in the server's origin.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.attachments.service import ATTACHMENTS
from consult_server.audit.chain import Actor
from consult_server.consults.service import CONSULTS
from consult_server.errors import BadRequest
from consult_server.http.rate_limits import RATE_LIMITS
from consult_server.http.security import current_user, requires
from consult_server.http.slow_bodies import steady_chunks

routes = web.RouteTableDef()
#: Bytes read from the request at a time.
READ_CHUNK = 256 * 1024


def _actor(request: web.Request) -> Actor:
    return Actor.user(current_user(request), request.remote)


def _name(request: web.Request) -> str | None:
    raw = request.headers.get("X-File-Name")
    if raw is None:
        return None
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("X-File-Name must be percent-encoded UTF-8", "bad_file_name") from None


@routes.post("/api/consults/{consult_id:\\d{1,12}}/files")
@requires(Role.CLINICIAN, Role.SPECIALIST)
async def upload(request: web.Request) -> web.Response:
    attachment, new = await request.app[ATTACHMENTS].receive(
        current_user(request),
        _actor(request),
        int(request.match_info["consult_id"]),
        _name(request),
        request.content_length,
        steady_chunks(request.content, READ_CHUNK),
    )
    return web.json_response({"file": attachment.describe()}, status=201 if new else 200)


@routes.post("/api/consults/{consult_id:\\d{1,12}}/refile")
@requires(Role.CLINICIAN)
async def refile(request: web.Request) -> web.Response:
    """File an expired (or cancelled) request again, with the same patient and files."""
    user = current_user(request)
    await request.app[RATE_LIMITS].check("new_consults", str(user.id))
    consult = await request.app[ATTACHMENTS].refile(
        user, _actor(request), int(request.match_info["consult_id"])
    )
    described = await request.app[CONSULTS].describe(consult, user)
    return web.json_response({"consult": described}, status=201)


@routes.get("/api/consults/{consult_id:\\d{1,12}}/files")
@requires(Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)
async def listing(request: web.Request) -> web.Response:
    files = await request.app[ATTACHMENTS].of_consult(
        current_user(request), _actor(request), int(request.match_info["consult_id"])
    )
    return web.json_response({"files": [f.describe() for f in files]})


_SAFE = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


@routes.get("/files/{file_id:\\d{1,12}}")
@requires(Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)
async def content(request: web.Request) -> web.StreamResponse:
    download = request.query.get("download") == "1"
    served = await request.app[ATTACHMENTS].open(
        current_user(request), _actor(request), int(request.match_info["file_id"]), download
    )
    attachment = served.attachment
    # A PDF is only ever downloaded: shown in the page it could run its own scripts
    # (Chromium shows no PDF in a sandboxed document), and it is opened by the PC's
    # own reader instead. Pictures and clips are shown inline, sandboxed.
    pdf = attachment.kind.value == "pdf"
    disposition = "attachment" if download or pdf else "inline"
    headers = {
        **_SAFE,
        "Content-Type": attachment.media_type,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.name)}",
    }
    return web.FileResponse(served.path, headers=headers)


@routes.get("/files/{file_id:\\d{1,12}}/thumbnail")
@requires(Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)
async def thumbnail(request: web.Request) -> web.Response:
    data = await request.app[ATTACHMENTS].thumbnail(
        current_user(request), _actor(request), int(request.match_info["file_id"])
    )
    if data is None:
        return web.Response(status=204, headers=_SAFE)
    return web.Response(body=data, content_type="image/jpeg", headers=_SAFE)
