"""The HTTP pages and JSON API of the real app, in-process."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from consult_server.app import create_app
from consult_server.store.db import DB
from tests.support.consult_requests import request_body
from tests.support.inproc import Harness, make_config

REQUEST = request_body("Sốt cao 3 ngày")


async def test_every_page_needs_a_login(harness: Harness) -> None:
    anon = await harness.anonymous()
    response = await anon.get("/")
    assert response.status == 302 and response.headers["Location"].startswith("/login")
    status, body = await anon.api("GET", "/api/consults")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    assert (await anon.get("/consults/1/room")).status == 302


async def test_wrong_password_is_refused_without_saying_which_part(harness: Harness) -> None:
    anon = await harness.anonymous()
    page = await (await anon.get("/login")).text()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    async with anon.session.post(
        harness.base + "/login",
        data={"username": "clinician.demo", "password": "wrong", "csrf_token": token},
        allow_redirects=False,
    ) as response:
        assert response.status == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in await response.text()


async def test_login_cookie_flags_and_csrf(harness: Harness) -> None:
    anon = await harness.anonymous()
    page = await (await anon.get("/login")).text()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    async with anon.session.post(
        harness.base + "/login",
        data={"username": "clinician.demo", "password": "demo-password-for-tests"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403, "login without the CSRF token must fail"
    async with anon.session.post(
        harness.base + "/login",
        data={
            "username": "clinician.demo",
            "password": "demo-password-for-tests",
            "csrf_token": token,
        },
        allow_redirects=False,
    ) as response:
        cookie = response.headers["Set-Cookie"]
        assert response.status == 302
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # API writes need the session's token in the header.
    async with anon.session.post(harness.base + "/api/consults", json=REQUEST) as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "csrf_failed"


async def test_request_is_routed_accepted_once_and_visible_only_to_its_people(
    harness: Harness,
) -> None:
    clinician = await harness.login("clinician.demo")
    district = await harness.login("specialist.demo")
    central = await harness.login("specialist.central")
    other_commune = await harness.login("clinician2.demo")

    status, body = await clinician.api("POST", "/api/consults", {**REQUEST, "consent": True})
    assert status == 201 and body["consult"]["state"] == "requested"
    consult_id = body["consult"]["id"]
    consent = await harness.app[DB].fetch_one("SELECT recording_consent FROM consults")
    assert consent is not None and consent["recording_consent"] == 1

    # Routine internal medicine from a commune reaches the district only.
    _, queue = await district.api("GET", "/api/consults")
    assert [c["id"] for c in queue["consults"]] == [consult_id]
    assert queue["consults"][0]["summary"] == "Sốt cao 3 ngày"
    _, queue = await central.api("GET", "/api/consults")
    assert queue["consults"] == []
    _, mine = await other_commune.api("GET", "/api/consults")
    assert mine["consults"] == []

    status, body = await central.api("POST", f"/api/consults/{consult_id}/accept")
    assert (status, body["error"]["code"]) == (404, "consult_not_found")
    status, body = await district.api("POST", f"/api/consults/{consult_id}/accept")
    assert status == 200 and body["consult"]["state"] == "accepted"
    status, body = await district.api("POST", f"/api/consults/{consult_id}/accept")
    assert (status, body["error"]["code"]) == (409, "consult_accepted")

    # The room page: the two participants only.
    assert (await clinician.get(f"/consults/{consult_id}/room")).status == 200
    assert (await district.get(f"/consults/{consult_id}/room")).status == 200
    # Anyone else gets what an unknown consult gets: ids reveal nothing.
    refused = await other_commune.get(f"/consults/{consult_id}/room")
    assert refused.status == 404 and 'data-state="refused"' in await refused.text()
    assert (await central.get(f"/consults/{consult_id}/room")).status == 404
    unknown = await other_commune.get("/consults/424242/room")
    for page in (refused, unknown):
        assert 'data-code="consult_not_found"' in await page.text()


async def test_wrong_role_and_bad_input_change_nothing(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    specialist = await harness.login("specialist.demo")
    supervisor = await harness.login("supervisor.demo")
    status, body = await specialist.api("POST", "/api/consults", REQUEST)
    assert (status, body["error"]["code"]) == (403, "wrong_role")
    status, body = await supervisor.api("GET", "/api/consults")
    assert (status, body["error"]["code"]) == (403, "wrong_role")
    cases = [
        ({**REQUEST, "urgency": "whenever"}, "bad_urgency"),
        ({**REQUEST, "specialty": "astrology"}, "bad_specialty"),
        ({**REQUEST, "summary": "   "}, "summary_required"),
        ({**REQUEST, "summary": "x" * 2001}, "summary_too_long"),
        (["not", "an", "object"], "bad_payload"),
        ({"summary": "x" * 20000}, "payload_too_large"),
        ({**REQUEST, "consent": "yes"}, "bad_consent"),
    ]
    for body_in, code in cases:
        status, body = await clinician.api("POST", "/api/consults", body_in)
        assert (status, body["error"]["code"]) == (400, code), body_in
    assert await harness.app[DB].fetch_all("SELECT id FROM consults") == []


async def test_cancel_by_either_side_and_not_by_others(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    specialist = await harness.login("specialist.demo")
    _, body = await clinician.api("POST", "/api/consults", REQUEST)
    consult_id = body["consult"]["id"]
    status, body = await specialist.api("POST", f"/api/consults/{consult_id}/cancel")
    assert (status, body["error"]["code"]) == (403, "wrong_role")
    status, body = await clinician.api("POST", f"/api/consults/{consult_id}/cancel")
    assert (status, body["consult"]["state"]) == (200, "cancelled")
    status, body = await clinician.api("POST", f"/api/consults/{consult_id}/cancel")
    assert (status, body["error"]["code"]) == (409, "consult_cancelled")


async def test_language_is_remembered_per_user(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    assert "Yêu cầu hội chẩn mới" in await (await clinician.get("/")).text()
    async with clinician.session.post(
        harness.base + "/language",
        data={"lang": "en", "csrf_token": clinician.csrf, "next": "/"},
        allow_redirects=False,
    ) as response:
        assert response.status == 302
    again = await harness.login("clinician.demo")
    again.session.cookie_jar.clear(lambda c: c.key == "consult_lang")
    assert "New consult request" in await (await again.get("/")).text()


def _specialty_options(page: str) -> list[tuple[str, bool]]:
    select = page.split('data-testid="consult-specialty">', 1)[1].split("</select>", 1)[0]
    return [
        (m.group(1), "selected" in m.group(0))
        for m in re.finditer(r'<option value="([^"]*)"[^>]*>', select)
    ]


async def test_the_request_form_preselects_no_specialty_and_offers_only_covered_ones(
    harness: Harness,
) -> None:
    """A preselected first option (cardiology) once routed inattentive requests to the
    central hospital. Demo: the district covers internal medicine, the centre also
    cardiology; nobody above the commune covers pediatrics, obstetrics or radiology."""
    clinician = await harness.login("clinician.demo")
    page = await (await clinician.get("/")).text()
    assert _specialty_options(page) == [
        ("", True),
        ("internal-medicine", False),
        ("cardiology", False),
    ]
    assert re.search(r"<label[^>]*>[^<]*<select name=\"urgency\"", page), "urgency is labelled"
    async with clinician.session.post(
        harness.base + "/language",
        data={"lang": "en", "csrf_token": clinician.csrf, "next": "/"},
        allow_redirects=False,
    ):
        pass
    page = await (await clinician.get("/")).text()
    assert [code for code, _ in _specialty_options(page)] == ["", "cardiology", "internal-medicine"]


async def test_security_headers_and_no_outside_hosts(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    response = await clinician.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    html = await response.text()
    assert "http://" not in html.replace(harness.base, "") and "https://" not in html


async def test_unknown_address_is_404_and_static_files_are_open(harness: Harness) -> None:
    anon = await harness.anonymous()
    assert (await anon.get("/no-such-page")).status == 404
    # A page with the header and a way home, in the reader's language.
    clinician = await harness.login("clinician.demo")
    missing = await clinician.get("/consults/no-such-page")
    page = await missing.text()
    assert missing.status == 404 and 'data-code="page_not_found"' in page
    assert 'class="topbar"' in page and "Không có trang nào ở địa chỉ này" in page
    assert (await anon.get("/static/no-such-file.js")).status == 404
    response = await anon.get("/static/img/icon.svg")
    assert response.status == 200 and b"<svg" in await response.read()


async def test_a_handler_that_declares_no_access_rule_is_denied(tmp_path: Path) -> None:
    async def undeclared(request: web.Request) -> web.Response:
        return web.Response(text="patient data")

    app = create_app(make_config(tmp_path))
    app.router.add_get("/undeclared", undeclared)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/undeclared")
        assert response.status == 403
        assert "patient data" not in await response.text()


def test_every_route_of_the_app_declares_who_may_call_it(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    undeclared = [
        route.resource.canonical
        for route in app.router.routes()
        if route.resource is not None
        and not route.resource.canonical.startswith(("/static", "/socket.io"))
        and getattr(route.handler, "_consult_access", None) is None
    ]
    assert undeclared == []


async def test_two_clinicians_filing_at_the_same_instant_are_both_filed_and_routed(
    harness: Harness,
) -> None:
    """One shared connection used to run both transactions at once: one request got a
    500 and stayed behind committed but unrouted (no specialist ever saw it)."""
    first = await harness.login("clinician.demo")
    second = await harness.login("clinician2.demo")
    district = await harness.login("specialist.demo")
    pairs = 25
    for _ in range(pairs):
        results = await asyncio.gather(
            first.api("POST", "/api/consults", {**REQUEST, "urgency": "emergency"}),
            second.api("POST", "/api/consults", {**REQUEST, "urgency": "emergency"}),
        )
        assert [status for status, _ in results] == [201, 201], results
    db = harness.app[DB]
    unrouted = await db.fetch_all(
        "SELECT c.id FROM consults c WHERE NOT EXISTS"
        " (SELECT 1 FROM consult_targets t WHERE t.consult_id = c.id)"
    )
    assert len(await db.fetch_all("SELECT id FROM consults")) == 2 * pairs
    assert unrouted == []
    events = await db.fetch_all("SELECT id FROM consult_events WHERE kind = 'requested'")
    assert len(events) == 2 * pairs
    _, queue = await district.api("GET", "/api/consults")
    assert len(queue["consults"]) >= pairs, "the district sees its communes' requests"


async def test_the_sign_in_forms_token_is_bound_to_its_pre_session(harness: Harness) -> None:
    """Before, the form's token was the cookie's value (double submit): anyone able to
    plant a cookie (a sibling host) could plant a matching pair and sign a victim's
    browser into their own account. Now the token is the server's MAC of the cookie."""
    form = {"username": "clinician.demo", "password": "demo-password-for-tests"}
    anon = await harness.anonymous()
    page = await (await anon.get("/login")).text()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    planted = "attacker-chosen-value-123"
    anon.session.cookie_jar.clear()  # the attacker's cookie in place of the server's
    anon.session.cookie_jar.update_cookies({"consult_csrf": planted}, URL(harness.base))
    async with anon.session.post(
        harness.base + "/login", data={**form, "csrf_token": planted}, allow_redirects=False
    ) as response:
        assert response.status == 403  # a planted pair is not a token
    async with anon.session.post(
        harness.base + "/login", data={**form, "csrf_token": token}, allow_redirects=False
    ) as response:
        assert response.status == 403  # nor is a real token with another cookie

    fresh = await harness.anonymous()
    page = await (await fresh.get("/login")).text()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    # Sent from another site: refused whatever it carries; from this one: signed in.
    for site, status in (("cross-site", 403), ("same-origin", 302)):
        async with fresh.session.post(
            harness.base + "/login",
            data={**form, "csrf_token": token},
            headers={"Sec-Fetch-Site": site},
            allow_redirects=False,
        ) as response:
            assert response.status == status, site


async def test_every_wrong_field_of_a_request_is_named_at_once(harness: Harness) -> None:
    """One round trip names each wrong field with its own code (the first one's code is
    the error's), in the form's order; nothing is filed."""
    clinician = await harness.login("clinician.demo")
    wrong = {
        "specialty": "",
        "urgency": "routine",
        "summary": " ",
        "patient": {"name": "Nguyễn 2", "age": 200, "sex": "x", "national_id": "12"},
    }
    status, body = await clinician.api("POST", "/api/consults", wrong)
    assert status == 400
    error = body["error"]
    assert error["code"] == "bad_specialty"
    assert {name: f["code"] for name, f in error["fields"].items()} == {
        "specialty": "bad_specialty",
        "patient.name": "bad_patient_name",
        "patient.birth_year": "bad_patient_age",
        "patient.sex": "bad_patient_sex",
        "patient.national_id": "bad_patient_national_id",
        "summary": "summary_required",
    }
    assert list(error["fields"]) == [
        "specialty",
        "patient.name",
        "patient.birth_year",
        "patient.sex",
        "patient.national_id",
        "summary",
    ]
    assert "Nguyễn" not in str(error), "the errors name fields, never what was typed"
    assert await harness.app[DB].fetch_all("SELECT id FROM consults") == []
