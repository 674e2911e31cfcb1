"""A locked screen over the real app, on both engines: the login goes on but is served
nothing of a patient (JSON gets 423 screen_locked, a page the unlock form), only its
owner's password opens it (a wrong one counts toward the sign-in lockout), each lock
and unlock is audited, and the sign-in page says why a login ended."""

from __future__ import annotations

import re

from consult_server.audit.chain import AUDIT
from tests.consult_server.admin.test_facilities import post_form
from tests.support.consult_requests import request_body
from tests.support.inproc import Harness
from tests.support.server import DEMO_PASSWORD


async def test_a_locked_login_serves_no_patient_until_its_password(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    assert (await clinician.api("POST", "/api/consults", request_body("Sốt cao")))[0] == 201
    specialist = await harness.login("specialist.demo")
    assert (await specialist.api("GET", "/api/consults"))[0] == 200

    status, body = await specialist.api("POST", "/api/session/lock")
    assert (status, body) == (200, {"locked": True})
    status, body = await specialist.api("GET", "/api/consults")
    assert status == 423 and body["error"]["code"] == "screen_locked"
    page = await specialist.get("/")
    text = await page.text()
    assert page.status == 423 and 'data-testid="unlock-form"' in text
    assert "Nguyễn Thị Hoa" not in text and "Sốt cao" not in text
    # Still signed in, kept alive, and said to be locked.
    assert (await specialist.api("POST", "/api/session/keepalive"))[0] == 200
    status, session = await specialist.api("GET", "/api/session")
    assert status == 200 and session["locked"] is True
    # Someone else's password, or none, does not open it.
    status, body = await specialist.api("POST", "/api/session/unlock", {"password": "x" * 12})
    assert status == 403 and body["error"]["code"] == "wrong_password"
    status, body = await specialist.api("POST", "/api/session/unlock", {})
    assert status == 400 and body["error"]["code"] == "password_required"
    assert (await specialist.api("GET", "/api/consults"))[0] == 423
    # The owner's does; the other logins never were locked.
    status, body = await specialist.api("POST", "/api/session/unlock", {"password": DEMO_PASSWORD})
    assert (status, body) == (200, {"locked": False})
    assert (await specialist.api("GET", "/api/consults"))[0] == 200
    assert (await clinician.api("GET", "/api/consults"))[0] == 200

    newest_first = [e.action for e in await harness.app[AUDIT].for_objects(["login"])]
    assert newest_first[:3] == ["screen_unlock", "login_failed", "screen_lock"]


async def test_the_page_form_unlocks_and_returns_where_it_was(harness: Harness) -> None:
    specialist = await harness.login("specialist.demo")
    await specialist.api("POST", "/api/session/lock")
    status, _ = await post_form(
        specialist, "/unlock", {"password": "not-it-at-all", "next": "/bookings"}
    )
    assert status == 303
    assert (await specialist.get("/bookings")).status == 423
    status, _ = await post_form(
        specialist, "/unlock", {"password": DEMO_PASSWORD, "next": "/bookings"}
    )
    assert status == 303
    assert (await specialist.get("/bookings")).status == 200


async def test_the_sign_in_page_says_why_a_login_ended(harness: Harness) -> None:
    browser = await harness.anonymous()
    for reason, words in (
        ("idle", "không được dùng"),
        ("expired", "hết hạn"),
        ("signed_out", "đăng xuất"),
        ("password_changed", "Mật khẩu"),
    ):
        page = await (await browser.get(f"/login?next=/&reason={reason}")).text()
        found = re.search(r'data-testid="login-reason" data-reason="([a-z_]+)">([^<]+)', page)
        assert found and found.group(1) == reason and words in found.group(2), reason
    page = await (await browser.get("/login?reason=%3Cscript%3E")).text()
    assert 'data-testid="login-reason"' not in page, "only the known reasons"
