"""Pages of no domain: the health check and the language switch."""

from __future__ import annotations

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.cluster.registry import REGISTRY
from consult_server.errors import BadRequest
from consult_server.http.gc_pauses import GC_PAUSES
from consult_server.http.i18n import LANGUAGES
from consult_server.http.loop_lag import LOOP_LAG
from consult_server.http.request import safe_next
from consult_server.http.security import LANG_COOKIE, USER, public

routes = web.RouteTableDef()


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    """Up, which node it is and whether it takes new rooms, how late its event loop has
    been waking over the last minute, and how long the garbage collector held it."""
    registry = request.app[REGISTRY]
    return web.json_response(
        {
            "ok": True,
            "node": registry.node_id,
            "takes_rooms": registry.takes_rooms,
            "loop_lag_ms": request.app[LOOP_LAG].summary(),
            "gc": request.app[GC_PAUSES].summary(),
        }
    )


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
    response = web.HTTPFound(safe_next(form.get("next")))
    response.set_cookie(LANG_COOKIE, str(lang), samesite="Lax", path="/", max_age=365 * 86400)
    raise response
