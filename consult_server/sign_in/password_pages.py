"""The page a one-time link opens: the person sets their password, every old login of
theirs ends, and they sign in with it. Public (whoever holds the link), CSRF-checked
like the sign-in form; the token travels in the query and the form, never the path
(the access log keeps paths)."""

from __future__ import annotations

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.password_links import MIN_PASSWORD, PASSWORD_LINKS
from consult_server.audit.chain import AUDIT, Actor
from consult_server.errors import ClientError
from consult_server.http.render import render
from consult_server.http.security import public
from signaling.handlers import SIGNALING

routes = web.RouteTableDef()


async def _form(
    request: web.Request, token: str, error: ClientError | None = None, status: int = 200
) -> web.Response:
    holder = await request.app[PASSWORD_LINKS].holder(token)
    user = await request.app[ACCOUNTS].user(holder) if holder is not None else None
    return render(
        request,
        "password.html",
        {
            "token": token if user else "",
            "for_user": user,
            "error": error,
            "min_length": MIN_PASSWORD,
        },
        status=status if user else 410,
    )


@routes.get("/password")
@public
async def password_page(request: web.Request) -> web.Response:
    return await _form(request, request.query.get("token", ""))


@routes.post("/password")
@public
async def password_submit(request: web.Request) -> web.Response:
    form = await request.post()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    token = text("token")
    try:
        user_id, ended = await request.app[PASSWORD_LINKS].spend(
            token, text("password"), text("repeat")
        )
    except ClientError as exc:
        return await _form(request, token, exc, exc.status)
    for login in ended:
        await request.app[SIGNALING].close_sockets(login, "password_changed")
    user = await request.app[ACCOUNTS].user(user_id)
    if user is not None:
        await request.app[AUDIT].append(
            Actor.user(user, request.remote), "password_set", f"user:{user_id}"
        )
    raise web.HTTPSeeOther("/login?password=set")
