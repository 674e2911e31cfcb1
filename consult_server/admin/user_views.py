"""The admin's accounts page: search, one account's form, a new account, and the
actions (deactivate, reactivate, unlock, a one-time password link shown once).

Plain HTML forms; filters in the query so a search can be bookmarked; a refusal
re-renders the page with the reason.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from consult_server.accounts.account_import import AccountPlan
from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.accounts.password_links import LINK_PATH
from consult_server.accounts.repository import AccountQuery
from consult_server.admin.users import USER_ADMIN, AccountDraft
from consult_server.admin.views import csv_text
from consult_server.audit.chain import Actor
from consult_server.errors import BadRequest, ClientError
from consult_server.http.render import language_of, render
from consult_server.http.security import current_user, requires

routes = web.RouteTableDef()


def _actor(request: web.Request, user: User) -> Actor:
    return Actor.user(user, request.remote)


def _query(request: web.Request) -> tuple[AccountQuery, dict[str, str]]:
    q = request.query
    raw = {k: q.get(k, "") for k in ("q", "role", "facility", "specialty", "active")}
    role = Role(raw["role"]) if raw["role"] in {r.value for r in Role} else None
    facility = int(raw["facility"]) if raw["facility"].isdigit() else None
    active = {"yes": True, "no": False}.get(raw["active"])
    query = AccountQuery(frozenset(), raw["q"][:64], role, facility, raw["specialty"][:64], active)
    return query, raw


async def _page(
    request: web.Request,
    *,
    plan: AccountPlan | None = None,
    csv_text: str = "",
    error: ClientError | None = None,
    link: str = "",
    link_for: str = "",
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    user = current_user(request)
    admin = request.app[USER_ADMIN]
    accounts = request.app[ACCOUNTS]
    query, raw = _query(request)
    found = await admin.find(user, query)
    scope = await admin.scope(user)
    facilities = sorted(
        (f for f in await accounts.facilities() if f.id in scope), key=lambda f: f.name
    )
    names = {f.id: f.name for f in facilities}
    language = language_of(request)
    edit = request.query.get("edit", "")
    editing = None
    if edit.isdigit():
        editing = next((item for item in found if item.row.id == int(edit)), None)
        if editing is None:
            try:
                editing = await admin.one(user, int(edit))
            except ClientError:
                editing = None
    return render(
        request,
        "admin_users.html",
        {
            "found": found,
            "filters": raw,
            "roles": [r.value for r in Role],
            "facilities": facilities,
            "facility_names": names,
            "specialties": {s.code: s.name(language) for s in await accounts.specialties()},
            "editing": editing,
            "error": error,
            "link": link,
            "link_for": link_for,
            "form": form or {},
            "done": request.query.get("done", ""),
            "plan": plan,
            "csv_text": csv_text,
        },
        status=status,
    )


@routes.get("/admin/users")
@requires(Role.ADMIN)
async def users_page(request: web.Request) -> web.Response:
    return await _page(request)


def _draft(form: Any) -> AccountDraft:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    role = text("role")
    if role not in {r.value for r in Role}:
        raise BadRequest("choose a role", "bad_role")
    if not text("facility").isdigit():
        raise BadRequest("choose a facility", "facility_out_of_scope")
    return AccountDraft(
        text("display_name"),
        Role(role),
        int(text("facility")),
        frozenset(v for v in form.getall("specialties", []) if isinstance(v, str)),
    )


async def _link_page(request: web.Request, token: str, username: str) -> web.Response:
    link = f"{request.scheme}://{request.host}{LINK_PATH}?token={token}"
    response = await _page(request, link=link, link_for=username)
    # Shown once: never kept by a cache, never sent on as a Referer.
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/admin/users")
@requires(Role.ADMIN)
async def create_user(request: web.Request) -> web.Response:
    user = current_user(request)
    form = await request.post()
    username = form.get("username")
    try:
        _, token = await request.app[USER_ADMIN].create(
            user, _actor(request, user), username if isinstance(username, str) else "", _draft(form)
        )
    except ClientError as exc:
        return await _page(request, error=exc, form=dict(form), status=exc.status)
    return await _link_page(request, token, str(username))


@routes.post("/admin/users/{user_id:\\d{1,12}}")
@requires(Role.ADMIN)
async def update_user(request: web.Request) -> web.Response:
    user = current_user(request)
    user_id = int(request.match_info["user_id"])
    form = await request.post()
    admin = request.app[USER_ADMIN]
    actor = _actor(request, user)
    action = form.get("action")
    try:
        if action == "save":
            await admin.update(user, actor, user_id, _draft(form))
        elif action in ("deactivate", "reactivate"):
            await admin.set_active(user, actor, user_id, action == "reactivate")
        elif action == "unlock":
            await admin.unlock(user, actor, user_id)
        elif action == "password_link":
            token = await admin.password_link(user, actor, user_id)
            listed = await admin.one(user, user_id)
            return await _link_page(request, token, listed.row.username)
        else:
            raise BadRequest("unknown action", "bad_action")
    except ClientError as exc:
        return await _page(request, error=exc, form=dict(form), status=exc.status)
    raise web.HTTPSeeOther(f"/admin/users?edit={user_id}&done={action}")


@routes.post("/admin/users/import")
@requires(Role.ADMIN)
async def import_users(request: web.Request) -> web.Response:
    """Check a doctors' CSV (the page lists every bad line), or import it: the answer is
    then a CSV of each new account's one-time link, to pass on (shown this once)."""
    user = current_user(request)
    admin = request.app[USER_ADMIN]
    try:
        text, action = await csv_text(request)
    except ClientError as exc:
        return await _page(request, error=exc, status=exc.status)
    if action != "commit":
        plan = await admin.check_import(user, text)
        return await _page(request, plan=plan, csv_text=text if plan.ok else "")
    plan, tokens = await admin.commit_import(user, _actor(request, user), text)
    if not plan.ok:
        return await _page(request, plan=plan)
    base = f"{request.scheme}://{request.host}{LINK_PATH}?token="
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "link"])
    for line in plan.lines:
        if line.username in tokens:
            writer.writerow([line.username, line.display_name, base + tokens[line.username]])
    return web.Response(
        body=out.getvalue().encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="password-links.csv"',
            "Cache-Control": "no-store",
        },
    )
