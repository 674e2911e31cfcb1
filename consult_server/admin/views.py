"""The admin's pages for the referral tree: the tree, a facility's form (create, edit,
move), and the CSV import (checked first, then all or nothing).

Plain HTML forms (they work before any script loads, on the slowest link); a refused
change re-renders the page with the reason and the admin's input kept.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.facility_admin import FACILITY_ADMIN, TreeNode
from consult_server.accounts.facility_rules import FacilityDraft, ImportPlan
from consult_server.accounts.models import LEVEL_ORDER, Facility, Level, Role, User
from consult_server.audit.chain import Actor
from consult_server.errors import BadRequest, ClientError
from consult_server.http.render import language_of, render
from consult_server.http.security import current_user, requires

routes = web.RouteTableDef()
#: The largest facility CSV a form takes (1,500 facilities are ~120 KB).
MAX_CSV_BYTES = 900 * 1024


def _actor(request: web.Request, user: User) -> Actor:
    return Actor.user(user, request.remote)


def _facilities_of(nodes: list[TreeNode]) -> list[Facility]:
    return [f for n in nodes for f in [n.facility, *_facilities_of(n.children)]]


async def _page(
    request: web.Request,
    *,
    error: ClientError | None = None,
    form: dict[str, Any] | None = None,
    plan: ImportPlan | None = None,
    csv_text: str = "",
    done: str = "",
    status: int = 200,
) -> web.Response:
    user = current_user(request)
    admin = request.app[FACILITY_ADMIN]
    accounts = request.app[ACCOUNTS]
    tree = await admin.tree(user)
    language = language_of(request)
    specialties = {s.code: s.name(language) for s in await accounts.specialties()}
    edit_id = request.query.get("edit", "")
    editing = None
    managed = sorted(_facilities_of(tree), key=lambda f: f.name)
    if edit_id.isdigit():
        editing = next((f for f in managed if f.id == int(edit_id)), None)
    return render(
        request,
        "admin_facilities.html",
        {
            "tree": tree,
            "managed": managed,
            "levels": [level.value for level in LEVEL_ORDER],
            "specialties": specialties,
            "editing": editing,
            "error": error,
            "form": form or {},
            "plan": plan,
            "csv_text": csv_text,
            "done": done,
            "request_query": request.query,
        },
        status=status,
    )


@routes.get("/admin/facilities")
@requires(Role.ADMIN)
async def facilities_page(request: web.Request) -> web.Response:
    return await _page(request, done=request.query.get("done", ""))


def _draft(form: Any, code: str | None = None) -> FacilityDraft:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    try:
        level = Level(text("level"))
    except ValueError:
        raise BadRequest("choose the facility's level", "bad_facility_level") from None
    return FacilityDraft(
        code=code if code is not None else text("code"),
        name=text("name"),
        level=level,
        parent_code=text("parent_code") or None,
        specialties=frozenset(v for v in form.getall("specialties", []) if isinstance(v, str)),
        records=text("records") == "on",
    )


@routes.post("/admin/facilities")
@requires(Role.ADMIN)
async def create_facility(request: web.Request) -> web.Response:
    user = current_user(request)
    form = await request.post()
    try:
        created = await request.app[FACILITY_ADMIN].create(
            user, _actor(request, user), _draft(form)
        )
    except ClientError as exc:
        return await _page(request, error=exc, form=dict(form), status=exc.status)
    raise web.HTTPSeeOther(f"/admin/facilities?done=created#facility-{created.id}")


@routes.post("/admin/facilities/{facility_id:\\d{1,12}}")
@requires(Role.ADMIN)
async def update_facility(request: web.Request) -> web.Response:
    user = current_user(request)
    facility_id = int(request.match_info["facility_id"])
    form = await request.post()
    try:
        draft = _draft(form, code="")
        await request.app[FACILITY_ADMIN].update(user, _actor(request, user), facility_id, draft)
    except ClientError as exc:
        return await _page(request, error=exc, form=dict(form), status=exc.status)
    raise web.HTTPSeeOther(f"/admin/facilities?done=updated#facility-{facility_id}")


async def csv_text(request: web.Request) -> tuple[str, str]:
    """The CSV a form carries (a chosen file, or the text checked before) and the action."""
    form = await request.post()
    action = form.get("action")
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        raw = upload.file.read(MAX_CSV_BYTES + 1)
    else:
        carried = form.get("csv")
        raw = carried.encode() if isinstance(carried, str) else b""
    if not raw.strip():
        raise BadRequest("choose a CSV file", "csv_missing")
    if len(raw) > MAX_CSV_BYTES:
        raise BadRequest("the file is too large for one import", "csv_too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text", "csv_not_utf8") from None
    return text, action if isinstance(action, str) else "check"


@routes.post("/admin/facilities/import")
@requires(Role.ADMIN)
async def import_facilities(request: web.Request) -> web.Response:
    user = current_user(request)
    admin = request.app[FACILITY_ADMIN]
    try:
        text, action = await csv_text(request)
    except ClientError as exc:
        return await _page(request, error=exc, status=exc.status)
    if action == "commit":
        plan = await admin.commit_import(user, _actor(request, user), text)
        if plan.ok:
            raise web.HTTPSeeOther(
                f"/admin/facilities?done=imported&created={plan.created}"
                f"&updated={plan.updated}&unchanged={plan.unchanged}"
            )
    else:
        plan = await admin.check_import(user, text)
    return await _page(request, plan=plan, csv_text=text if plan.ok else "")
