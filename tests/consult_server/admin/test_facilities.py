"""The admin's facility pages over the real app, on both engines: the tree, create,
edit and move (a cycle refused, nothing changed), scope (a province's admin manages only
its province), the CSV import (a bad file changes nothing, the fixed one is imported
whole, the same file again changes nothing), the recording setting, the audit chain."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Facility, Level, Role
from consult_server.audit.chain import AUDIT
from consult_server.consults.service import CONSULTS
from tests.support.inproc import Client, Harness, demo_password_hash
from tests.support.room_client import accepted_consult
from tests.support.server import DEMO_PASSWORD

HEADER = "code,name,level,parent_code,specialties\n"


async def post_form(client: Client, path: str, fields: dict[str, Any]) -> tuple[int, str]:
    data = aiohttp.FormData()
    data.add_field("csrf_token", client.csrf)
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.add_field(name, one)
    async with client.session.post(
        client.base + path, data=data, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def upload_csv(
    client: Client, text: str, path: str = "/admin/facilities/import"
) -> tuple[int, str]:
    """Choose ``text`` as the CSV file and press "check" (the page's first step)."""
    data = aiohttp.FormData()
    data.add_field("csrf_token", client.csrf)
    data.add_field("action", "check")
    data.add_field("file", text.encode(), filename="import.csv", content_type="text/csv")
    async with client.session.post(
        client.base + path, data=data, allow_redirects=False
    ) as response:
        return response.status, await response.text()


async def by_code(harness: Harness) -> dict[str, Facility]:
    return {f.code: f for f in await harness.app[ACCOUNTS].facilities()}


async def test_the_tree_is_the_admins_and_nobody_elses(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    page = await (await admin.get("/admin/facilities")).text()
    codes = re.findall(r'data-testid="facility-item" data-code="([^"]+)"', page)
    assert codes[0] == "demo-central" and set(codes) == {
        "demo-central",
        "demo-provincial",
        "demo-district",
        "demo-commune-1",
        "demo-commune-2",
    }
    assert 'aria-level="4"' in page, "a commune station sits four levels down"
    for name in ("clinician.demo", "specialist.demo", "supervisor.demo"):
        client = await harness.login(name)
        assert (await client.get("/admin/facilities")).status == 403
        status, _ = await post_form(client, "/admin/facilities", {"code": "x"})
        assert status == 403


async def test_create_edit_move_and_a_cycle_refused(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    status, _ = await post_form(
        admin,
        "/admin/facilities",
        {
            "code": "tyt-xa-moi",
            "name": "Trạm Y tế xã Mới",
            "level": "commune",
            "parent_code": "demo-district",
            "records": "on",
        },
    )
    assert status == 303
    facilities = await by_code(harness)
    new = facilities["tyt-xa-moi"]
    assert (new.name, new.level, new.parent_id, new.records) == (
        "Trạm Y tế xã Mới",
        Level.COMMUNE,
        facilities["demo-district"].id,
        True,
    )
    # The district gains cardiology and stops recording; then a move under its own
    # commune station is refused and changes nothing.
    district = facilities["demo-district"]
    status, _ = await post_form(
        admin,
        f"/admin/facilities/{district.id}",
        {
            "name": district.name,
            "level": "district",
            "parent_code": "demo-provincial",
            "specialties": ["internal-medicine", "cardiology"],
        },
    )
    assert status == 303
    changed = (await by_code(harness))["demo-district"]
    assert changed.specialties == {"internal-medicine", "cardiology"} and not changed.records
    before = await by_code(harness)
    status, page = await post_form(
        admin,
        f"/admin/facilities/{district.id}",
        {"name": district.name, "level": "district", "parent_code": "tyt-xa-moi"},
    )
    assert status == 400 and "facility-error" in page  # a district under a commune
    # The province under one of its own commune stations: a cycle (refused by the level
    # rule before the cycle check behind it is needed).
    status, page = await post_form(
        admin,
        f"/admin/facilities/{facilities['demo-provincial'].id}",
        {"name": "Tỉnh", "level": "provincial", "parent_code": "demo-commune-1"},
    )
    assert status in (400, 409) and "facility-error" in page
    assert await by_code(harness) == before
    taken = await post_form(
        admin,
        "/admin/facilities",
        {
            "code": "tyt-xa-moi",
            "name": "Lần nữa",
            "level": "commune",
            "parent_code": "demo-district",
        },
    )
    assert taken[0] == 409
    actions = sorted(
        (e.actor, e.action, e.object)
        for e in await harness.app[AUDIT].for_objects(
            [f"facility:{new.id}", f"facility:{district.id}"]
        )
    )
    assert actions == sorted(
        [
            ("admin.demo", "create", f"facility:{new.id}"),
            ("admin.demo", "update", f"facility:{district.id}"),
        ]
    )


async def test_a_province_admin_manages_only_the_province(harness: Harness) -> None:
    accounts = harness.app[ACCOUNTS]
    facilities = await by_code(harness)
    await accounts.create_user(
        "admin.tinh",
        DEMO_PASSWORD,
        Role.ADMIN,
        facilities["demo-provincial"].id,
        "Quản trị tỉnh",
        password_hash=demo_password_hash(),
    )
    admin = await harness.login("admin.tinh")
    page = await (await admin.get("/admin/facilities")).text()
    codes = set(re.findall(r'data-testid="facility-item" data-code="([^"]+)"', page))
    assert "demo-central" not in codes and "demo-commune-1" in codes
    central = facilities["demo-central"]
    status, _ = await post_form(
        admin,
        f"/admin/facilities/{central.id}",
        {"name": "Đổi tên", "level": "central", "parent_code": ""},
    )
    assert status == 404
    status, _ = await post_form(
        admin,
        "/admin/facilities",
        {"code": "bv-moi", "name": "BV", "level": "provincial", "parent_code": "demo-central"},
    )
    assert status == 403
    assert await by_code(harness) == facilities


async def test_an_import_is_checked_whole_then_all_or_nothing(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    before = await by_code(harness)
    bad = HEADER + (
        "ttyt-moi,TTYT huyện Mới,district,demo-provincial,internal-medicine\n"
        "tyt-moi-1,Trạm Y tế Mới 1,commune,ttyt-moi,\n"
        "tyt-moi-2,Trạm Y tế Mới 2,xa,ttyt-moi,\n"
    )
    status, page = await upload_csv(admin, bad)
    assert status == 200
    errors = re.search(r'data-testid="facility-import-errors">(.*?)</ul>', page, re.S)
    assert errors and "tyt-moi-2" in errors.group(1) and "tyt-moi-1" not in errors.group(1)
    assert "facility-import-commit" not in page
    assert await by_code(harness) == before, "a checked file changes nothing"
    fixed = bad.replace(",xa,", ",commune,")
    status, page = await upload_csv(admin, fixed)
    assert status == 200 and "facility-import-commit" in page
    carried = re.search(r'name="csv" value="([^"]*)"', page, re.S)
    assert carried
    csv_text = carried.group(1).replace("&#10;", "\n").replace("&#34;", '"')
    status, _ = await post_form(
        admin, "/admin/facilities/import", {"action": "commit", "csv": csv_text}
    )
    assert status == 303
    after = await by_code(harness)
    assert set(after) - set(before) == {"ttyt-moi", "tyt-moi-1", "tyt-moi-2"}
    assert after["tyt-moi-2"].parent_id == after["ttyt-moi"].id
    assert after["ttyt-moi"].specialties == {"internal-medicine"}
    # The same file again: nothing changes.
    status, _ = await post_form(
        admin, "/admin/facilities/import", {"action": "commit", "csv": fixed}
    )
    assert status == 303
    assert await by_code(harness) == after
    imports = sorted(
        (e.id, e.detail)
        for e in await harness.app[AUDIT].for_objects(["facilities"])
        if e.action == "import"
    )
    assert [detail for _, detail in imports] == [
        {"created": 3, "updated": 0, "unchanged": 0},
        {"created": 0, "updated": 0, "unchanged": 3},
    ]


async def test_a_facility_that_does_not_record_keeps_its_consults_unrecorded(
    harness: Harness,
) -> None:
    store = harness.app[CONSULTS].store
    facilities = await by_code(harness)
    commune = facilities["demo-commune-1"]
    admin = await harness.login("admin.demo")
    status, _ = await post_form(
        admin,
        f"/admin/facilities/{commune.id}",
        {"name": commune.name, "level": "commune", "parent_code": "demo-district"},
    )
    assert status == 303
    clinician = await harness.login("clinician.demo")
    specialist = await harness.login("specialist.demo")
    consult_id = await accepted_consult(clinician, specialist)
    policy = await store.recording_policy(consult_id)
    assert policy is not None and not policy.facility_records
