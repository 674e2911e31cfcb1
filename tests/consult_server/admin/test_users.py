"""The admin's accounts page over the real app, on both engines: a new account signs in
only through its one-time link, a link works once and ends the old logins, search,
changes checked (scope, specialties, one's own role), deactivate and reactivate, unlock,
and every action in the audit chain."""

from __future__ import annotations

import html
import re

from consult_server.accounts.directory import ACCOUNTS
from consult_server.audit.chain import AUDIT
from tests.consult_server.admin.test_facilities import post_form, upload_csv
from tests.support.inproc import Client, Harness, anonymous_login
from tests.support.server import DEMO_PASSWORD

NEW_PASSWORD = "mật-khẩu-mới-2026"


def shown_link(page: str) -> str:
    found = re.search(r'value="([^"]+)"[^>]*data-testid="user-reset-link"', page)
    assert found, "the link is shown"
    return html.unescape(found.group(1))


async def facility_id(harness: Harness, code: str) -> int:
    return next(f.id for f in await harness.app[ACCOUNTS].facilities() if f.code == code)


async def user_id(harness: Harness, username: str) -> int:
    row = await harness.app[ACCOUNTS].store.db.fetch_one(
        "SELECT id FROM users WHERE username = ?", (username,)
    )
    assert row is not None
    return int(row["id"])


async def set_password(harness: Harness, link: str, password: str) -> tuple[int, str]:
    """Open the link as a stranger's browser and set ``password``."""
    path = link[link.index("/password") :]
    client = await harness.anonymous()
    page = await (await client.get(path)).text()
    token = re.search(r'name="token" value="([^"]*)"', page)
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page)
    if token is None or not token.group(1):
        return 410, page
    assert csrf
    async with client.session.post(
        client.base + "/password",
        data={
            "csrf_token": csrf.group(1),
            "token": html.unescape(token.group(1)),
            "password": password,
            "repeat": password,
        },
        allow_redirects=False,
    ) as response:
        return response.status, await response.text()


async def test_a_new_doctor_signs_in_only_through_a_link_that_works_once(
    harness: Harness,
) -> None:
    admin = await harness.login("admin.demo")
    commune = await facility_id(harness, "demo-commune-1")
    status, page = await post_form(
        admin,
        "/admin/users",
        {
            "username": "bs.lan",
            "display_name": "BS. Hoàng Thị Lan",
            "role": "clinician",
            "facility": str(commune),
        },
    )
    assert status == 200
    link = shown_link(page)
    assert "?token=" in link
    # No password yet: nothing signs in, not even the server's dummy hash's password.
    for guess in ("", "not-a-real-password", DEMO_PASSWORD):
        assert (await anonymous_login(harness.base, "bs.lan", guess)).status != 302
    assert (await set_password(harness, link, NEW_PASSWORD))[0] == 303
    signed_in = await anonymous_login(harness.base, "bs.lan", NEW_PASSWORD)
    assert signed_in.status == 302
    status, again = await set_password(harness, link, "another-password-1")
    assert status == 410 and "password-link-used" in again
    assert (await anonymous_login(harness.base, "bs.lan", "another-password-1")).status != 302
    new_id = await user_id(harness, "bs.lan")
    entries = [
        (e.actor, e.action) for e in await harness.app[AUDIT].for_objects([f"user:{new_id}"])
    ]
    assert sorted(entries) == sorted(
        [("admin.demo", "create"), ("admin.demo", "password_link"), ("bs.lan", "password_set")]
    )


async def test_a_reset_ends_every_old_login(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    clinician = await harness.login("clinician.demo")
    assert (await clinician.get("/")).status == 200
    target = await user_id(harness, "clinician.demo")
    status, page = await post_form(admin, f"/admin/users/{target}", {"action": "password_link"})
    assert status == 200
    first = shown_link(page)
    status, page = await post_form(admin, f"/admin/users/{target}", {"action": "password_link"})
    second = shown_link(page)
    assert (await set_password(harness, first, NEW_PASSWORD))[0] == 410, "a newer link stops it"
    assert (await set_password(harness, second, NEW_PASSWORD))[0] == 303
    assert (await clinician.get("/")).status == 302, "the old login has ended"
    assert (await anonymous_login(harness.base, "clinician.demo", DEMO_PASSWORD)).status != 302
    assert (await anonymous_login(harness.base, "clinician.demo", NEW_PASSWORD)).status == 302


async def test_search_and_changes_within_scope(harness: Harness) -> None:
    admin = await harness.login("admin.demo")

    async def usernames(query: str) -> list[str]:
        page = await (await admin.get("/admin/users?" + query)).text()
        return re.findall(r'data-testid="user-item" data-username="([^"]+)"', page)

    assert len(await usernames("q=demo")) == 5  # all but specialist.central
    assert await usernames("active=no") == []
    assert set(await usernames("role=specialist")) == {"specialist.demo", "specialist.central"}
    assert await usernames("specialty=cardiology") == ["specialist.central"]
    district = await facility_id(harness, "demo-district")
    assert await usernames(f"facility={district}") == ["specialist.demo"]
    assert await usernames("q=CH%C3%82U") == ["specialist.demo"]  # "BS. Lê Minh Châu"
    target = await user_id(harness, "clinician2.demo")
    status, page = await post_form(
        admin,
        f"/admin/users/{target}",
        {
            "action": "save",
            "display_name": "YS. Trần Thị Bình",
            "role": "clinician",
            "facility": str(district),
            "specialties": "cardiology",
        },
    )
    assert status == 400 and "user-error" in page, "a clinician has no specialties"
    status, _ = await post_form(
        admin,
        f"/admin/users/{target}",
        {
            "action": "save",
            "display_name": "BS. Trần Thị Bình",
            "role": "specialist",
            "facility": str(district),
            "specialties": "cardiology",
        },
    )
    assert status == 303
    assert set(await usernames("specialty=cardiology")) == {"specialist.central", "clinician2.demo"}
    me = await user_id(harness, "admin.demo")
    status, _ = await post_form(
        admin,
        f"/admin/users/{me}",
        {
            "action": "save",
            "display_name": "Quản trị",
            "role": "clinician",
            "facility": str(district),
        },
    )
    assert status == 409
    assert (await post_form(admin, f"/admin/users/{me}", {"action": "deactivate"}))[0] == 409


async def test_deactivate_reactivate_and_unlock(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    target = await user_id(harness, "clinician2.demo")
    assert (await post_form(admin, f"/admin/users/{target}", {"action": "deactivate"}))[0] == 303
    assert (await anonymous_login(harness.base, "clinician2.demo", DEMO_PASSWORD)).status != 302
    assert (await post_form(admin, f"/admin/users/{target}", {"action": "reactivate"}))[0] == 303
    assert (await anonymous_login(harness.base, "clinician2.demo", DEMO_PASSWORD)).status == 302
    for _ in range(10):
        await anonymous_login(harness.base, "clinician2.demo", "wrong-password")
    locked = await anonymous_login(harness.base, "clinician2.demo", DEMO_PASSWORD)
    assert locked.status != 302
    page = await (await admin.get(f"/admin/users?edit={target}")).text()
    assert 'data-testid="user-unlock"' in page
    assert (await post_form(admin, f"/admin/users/{target}", {"action": "unlock"}))[0] == 303
    assert (await anonymous_login(harness.base, "clinician2.demo", DEMO_PASSWORD)).status == 302
    actions = sorted(e.action for e in await harness.app[AUDIT].for_objects([f"user:{target}"]))
    assert actions == ["deactivate", "reactivate", "unlock"]


async def test_nobody_but_admins(harness: Harness) -> None:
    for name in ("clinician.demo", "specialist.demo", "supervisor.demo"):
        client: Client = await harness.login(name)
        assert (await client.get("/admin/users")).status == 403
        assert (await post_form(client, "/admin/users", {"username": "x"}))[0] == 403


async def upload_accounts(client: Client, text: str) -> tuple[int, str]:
    return await upload_csv(client, text, "/admin/users/import")


async def test_doctors_imported_whole_each_with_a_one_time_link(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    bad = (
        "username,name,role,facility_code,specialties\n"
        "bs.an.tim,BS. Võ An,specialist,demo-district,cardiology\n"
        "ys.ha,YS. Đỗ Hà,clinician,demo-commune-2,cardiology\n"  # 3: a clinician's specialty
        "bs.moi,BS. Mới,specialist,khong-co,\n"  # 4: no such facility
        "specialist.demo,BS. Lê Minh Châu,specialist,demo-district,internal-medicine;cardiology\n"
    )
    before = await harness.app[ACCOUNTS].store.existing_accounts()
    status, page = await upload_accounts(admin, bad)
    assert status == 200
    errors = re.search(r'data-testid="user-import-errors">(.*?)</ul>', page, re.S)
    assert errors and "Dòng 3" in errors.group(1) and "Dòng 4" in errors.group(1)
    assert "bs.an.tim" not in errors.group(1)
    assert await harness.app[ACCOUNTS].store.existing_accounts() == before
    fixed = bad.replace("clinician,demo-commune-2,cardiology", "clinician,demo-commune-2,")
    fixed = fixed.replace("khong-co", "demo-central")
    status, page = await post_form(admin, "/admin/users/import", {"action": "commit", "csv": fixed})
    assert status == 200
    links = page.lstrip("\ufeff").splitlines()
    assert links[0] == "username,name,link"
    assert sorted(line.split(",")[0] for line in links[1:]) == ["bs.an.tim", "bs.moi", "ys.ha"]
    after = await harness.app[ACCOUNTS].store.existing_accounts()
    assert after["specialist.demo"].specialties == {"internal-medicine", "cardiology"}
    assert after["bs.an.tim"].specialties == {"cardiology"}
    # Each new doctor signs in through their own link, once.
    link = next(line for line in links if line.startswith("ys.ha,")).split(",")[2]
    assert (await set_password(harness, link, NEW_PASSWORD))[0] == 303
    assert (await anonymous_login(harness.base, "ys.ha", NEW_PASSWORD)).status == 302
    # The same file again: nothing changes, no new links.
    status, page = await post_form(admin, "/admin/users/import", {"action": "commit", "csv": fixed})
    assert page.lstrip("\ufeff").splitlines() == ["username,name,link"]
    assert await harness.app[ACCOUNTS].store.existing_accounts() == after
