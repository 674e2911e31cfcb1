"""GET /api/consults/{id}/fhir: the consult as a FHIR R4 Bundle."""

from __future__ import annotations

from aiohttp import web

from consult_server.accounts.models import Role
from consult_server.audit.chain import Actor
from consult_server.fhir.service import FHIR_EXPORT
from consult_server.http.security import current_user, requires

routes = web.RouteTableDef()


@routes.get("/api/consults/{consult_id:\\d{1,12}}/fhir")
@requires(Role.CLINICIAN, Role.SPECIALIST, Role.SUPERVISOR)
async def export(request: web.Request) -> web.Response:
    user = current_user(request)
    bundle = await request.app[FHIR_EXPORT].for_user(
        user, Actor.user(user, request.remote), int(request.match_info["consult_id"])
    )
    return web.json_response(bundle, content_type="application/fhir+json")
